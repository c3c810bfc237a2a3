-- One page of `GET /api/jobs` (called through `common/src/queue/index.rs`): walks one index set
-- newest first and keeps the jobs that are in every other set asked for, in one of the status
-- sets asked for, and whose images contain the text. Stops at a page or after `budget` jobs
-- looked at, and answers the last job looked at as where to go on ('' when nothing is left).
-- Paged by offset inside one call: the script runs atomically, so the set cannot move under it.
--
-- KEYS: 1 the set walked, then `checks` sets a job must be in, then `any` sets it must be in one of
-- ARGV: 1 checks, 2 any, 3 max score ('+inf', '(<ms>' or the cursor's ms), 4 min score,
--       5 the cursor's job id ('' for none: entries at the cursor's score with an id at or above it
--       were on earlier pages), 6 limit, 7 budget, 8 text (lower-case, '' for none),
--       9 job key prefix, 10 the images key's suffix
local walk = KEYS[1]
local n_checks, n_any = tonumber(ARGV[1]), tonumber(ARGV[2])
local max, min, after_id = ARGV[3], ARGV[4], ARGV[5]
local limit, budget, text = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local job_prefix, images_suffix = ARGV[9], ARGV[10]
local CHUNK = 500
local skip_score = nil
if after_id ~= '' then skip_score = tonumber(max) end

local function matches(id)
  for k = 2, 1 + n_checks do
    if not redis.call('ZSCORE', KEYS[k], id) then return false end
  end
  if n_any > 0 then
    local any = false
    for k = 2 + n_checks, 1 + n_checks + n_any do
      if redis.call('ZSCORE', KEYS[k], id) then any = true; break end
    end
    if not any then return false end
  end
  if text ~= '' then
    local images = redis.call('GET', job_prefix .. id .. images_suffix)
    if not images or not string.find(images, text, 1, true) then return false end
  end
  return true
end

local found, looked, offset = {}, 0, 0
while true do
  local page = redis.call('ZREVRANGEBYSCORE', walk, max, min, 'WITHSCORES', 'LIMIT', offset, CHUNK)
  if #page == 0 then return {found, ''} end
  for i = 1, #page, 2 do
    local id, score = page[i], page[i + 1]
    if not (skip_score and tonumber(score) == skip_score and id >= after_id) then
      looked = looked + 1
      if matches(id) then table.insert(found, id) end
      if #found >= limit or looked >= budget then
        return {found, string.format('%d', tonumber(score)) .. '-' .. id}
      end
    end
  end
  if #page < CHUNK * 2 then return {found, ''} end
  offset = offset + CHUNK
end
