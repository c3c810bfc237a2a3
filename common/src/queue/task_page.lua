-- One page of a job's tasks for `GET /api/jobs/{id}/tasks` (through `common/src/queue/read.rs`):
-- walks the task list from a position, keeps the tasks in one of the statuses asked for whose
-- source or target contains the text, and stops at a page or after `budget` tasks looked at.
-- Answers the ids and the position to go on from (-1 when the list is done).
--
-- KEYS: 1 the job's task list
-- ARGV: 1 first position, 2 limit, 3 budget, 4 statuses (comma-separated, '' for any),
--       5 text (lower-case, '' for none), 6 task key prefix
local list = KEYS[1]
local pos, limit, budget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local text, prefix = ARGV[5], ARGV[6]
local wanted = nil
if ARGV[4] ~= '' then
  wanted = {}
  for s in string.gmatch(ARGV[4], '[^,]+') do wanted[s] = true end
end
local CHUNK = 1000
local found, looked = {}, 0
while true do
  local ids = redis.call('LRANGE', list, pos, pos + CHUNK - 1)
  if #ids == 0 then return {found, -1} end
  for i, id in ipairs(ids) do
    local task = prefix .. id
    local ok = true
    if wanted then ok = wanted[redis.call('HGET', task, 'status') or ''] == true end
    if ok and text ~= '' then
      local f = redis.call('HMGET', task, 'source', 'target')
      ok = string.find(string.lower(f[1] or ''), text, 1, true) ~= nil
        or string.find(string.lower(f[2] or ''), text, 1, true) ~= nil
    end
    looked = looked + 1
    if ok then table.insert(found, id) end
    if #found >= limit or looked >= budget then
      local next_pos = pos + i
      if next_pos >= redis.call('LLEN', list) then next_pos = -1 end
      return {found, next_pos}
    end
  end
  if #ids < CHUNK then return {found, -1} end
  pos = pos + CHUNK
end
