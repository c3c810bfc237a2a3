-- What a job looks like now, for a WebSocket that starts from a snapshot instead of the whole
-- history (through `common/src/queue/read.rs`): the id of the job's newest event, how many tasks
-- are in each status, and the job hash, read together so events after that id are exactly what
-- changed since. A job of 10,000 tasks writes more events than its stream keeps; this does not
-- depend on them.
--
-- KEYS: 1 job hash, 2 the job's task list, 3 the job's event stream
-- ARGV: 1 task key prefix, 2 statuses (comma-separated, the order of the counts answered)
-- Answers {last event id ('0-0' for none), {count per status}, {job hash as field, value, ...}}.
local job, list, events = KEYS[1], KEYS[2], KEYS[3]
local last = redis.call('XREVRANGE', events, '+', '-', 'COUNT', 1)
local last_id = '0-0'
if last[1] then last_id = last[1][1] end
local order, counts = {}, {}
for s in string.gmatch(ARGV[2], '[^,]+') do table.insert(order, s); counts[s] = 0 end
for _, id in ipairs(redis.call('LRANGE', list, 0, -1)) do
  local status = redis.call('HGET', ARGV[1] .. id, 'status')
  if status and counts[status] then counts[status] = counts[status] + 1 end
end
local out = {}
for i, s in ipairs(order) do out[i] = counts[s] end
return {last_id, out, redis.call('HGETALL', job)}
