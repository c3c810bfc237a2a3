-- An operator cancels a job (called through `common/src/queue/cancel.rs`, with job_end.lua
-- prepended). Atomically: the job is marked (`cancel_requested_at_ms`, `cancelled_by`), every
-- queued task ends `cancelled` and its stream entry is deleted unread, the job ends if nothing is
-- left running, and the job id is published so workers stop the copies they run. A running task
-- ends when its worker has stopped skopeo; a worker that misses the message learns it at its next
-- lease refresh, and `start` or `requeue` of a task of a cancelled job cancels it (transitions.lua).
--
-- KEYS: 1 task stream, 2 job hash, 3 job task list, 4 job event stream, 5 job-ends stream,
--       6 stats hash
-- ARGV: 1 group, 2 now (ms), 3 job id, 4 events channel, 5 who, 6 status index key prefix,
--       7 events kept per job, 8 task key prefix, 9 cancel channel, 10 and 11 the hour's and
--       day's statistics key prefixes
-- Returns {'missing'}, {'finished', status}, or {'ok', cancelled now, still running}.
local stream, job, tasks, events, ends, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local group, now, job_id, channel, by = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local events_kept, task_prefix, cancel_channel = tonumber(ARGV[7]), ARGV[8], ARGV[9]

if redis.call('EXISTS', job) == 0 then return {'missing'} end
local status = redis.call('HGET', job, 'status')
if status then return {'finished', status} end

local function emit(json)
  local eid = redis.call('XADD', events, 'MAXLEN', '~', events_kept, '*', 'event', json)
  keep_with_job(job, events)
  redis.call('PUBLISH', channel, eid)
end

local ctx = {job = job, job_id = job_id, now = now, emit = emit, ends = ends, index = ARGV[6],
  hour = ARGV[10], day = ARGV[11], stats = stats}

if redis.call('HSETNX', job, 'cancel_requested_at_ms', now) == 1 then
  redis.call('HSET', job, 'cancelled_by', by)
  emit(cjson.encode({job = job_id, at_ms = tonumber(now), kind = 'cancel_requested', by = by}))
end

local cancelled, running = 0, 0
for index, id in ipairs(redis.call('LRANGE', tasks, 0, -1)) do
  local task = task_prefix .. id
  local task_status = redis.call('HGET', task, 'status')
  if task_status == 'queued' then
    redis.call('HSET', task, 'status', 'cancelled', 'finished_at_ms', now, 'worker', '')
    local entry = redis.call('HGET', task, 'entry')
    if entry then
      -- Pending with a worker that has not started it, or not yet read: either way gone.
      redis.call('XACK', stream, group, entry)
      redis.call('XDEL', stream, entry)
    end
    emit(cjson.encode({job = job_id, task = id, index = index - 1, at_ms = tonumber(now),
      kind = 'cancelled', by = by}))
    count_task_end(ctx, 'cancelled')
    cancelled = cancelled + 1
  elseif task_status == 'running' then
    running = running + 1
  end
end
if running > 0 then redis.call('PUBLISH', cancel_channel, job_id) end
return {'ok', tostring(cancelled), tostring(running)}
