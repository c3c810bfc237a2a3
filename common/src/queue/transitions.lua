-- Every change a worker makes to a task, done atomically and only while the worker still owns
-- the stream entry (a worker whose lease expired must not overwrite the new owner's work).
-- Called through `common/src/queue/consumer.rs`, which passes the limits and statuses below and
-- prepends job_end.lua; the records test (`common/tests/queue_records.rs`) checks the fields it
-- writes against `TaskField`, `JobField` and `stats`, and its final job status against
-- `JobStatus::derive`.
--
-- A job an operator cancelled (`cancel_requested_at_ms` on the job) lets no task start or go
-- back to the queue: `start` and `requeue` end the task `cancelled` instead and answer
-- {'cancelled'}; `refresh` and `update` answer {'ok', 'cancel'} so the worker stops skopeo.
--
-- KEYS: 1 task stream, 2 task hash, 3 job hash, 4 job event stream, 5 stats hash, 6 dead letters,
--       7 job-ends stream
-- ARGV: 1 op, 2 group, 3 consumer, 4 entry id, 5 events channel, 6 now (ms), 7 job id,
--       8 event json ('' for none), 9 status index key prefix, 10 events kept per job,
--       11 dead letters kept, 12 duration buckets (s, comma-separated), 13 final task statuses
--       (comma-separated), 14 and 15 the hour's and day's statistics key prefixes, then per op:
--   start:   -                 (the `started` event gets the attempt number here)
--   update:  field, value, ...                       (progress, retry)
--   refresh: -                                        (extend the lease)
--   requeue: idle ms                                  (hand the task back)
--   finish:  status, duration ms, dead-letter reason ('' for none), failure reason for the
--            statistics ('' for none), field, value, ...
local stream, task, job, events, stats, dead = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local ends = KEYS[7]
local op, group, me, id, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, job_id, event = ARGV[6], ARGV[7], ARGV[8]
local events_kept, dead_kept = tonumber(ARGV[10]), tonumber(ARGV[11])
local OP = 16

local function split(csv)
  local out = {}
  for part in string.gmatch(csv, '[^,]+') do table.insert(out, part) end
  return out
end
local final_statuses = {}
for _, s in ipairs(split(ARGV[13])) do final_statuses[s] = true end

local pending = redis.call('XPENDING', stream, group, id, id, 1)
if #pending == 0 or pending[1][2] ~= me then
  return {'lost'}
end
local deliveries = pending[1][4]

local function emit(json)
  if json == '' then return end
  local eid = redis.call('XADD', events, 'MAXLEN', '~', events_kept, '*', 'event', json)
  keep_with_job(job, events)
  redis.call('PUBLISH', channel, eid)
end

local ctx = {job = job, job_id = job_id, now = now, emit = emit, ends = ends, index = ARGV[9],
  hour = ARGV[14], day = ARGV[15], stats = stats}

local function forget_entry()
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
end

local cancelled_by = redis.call('HGET', job, 'cancelled_by')

if op == 'refresh' then
  redis.call('XCLAIM', stream, group, me, 0, id, 'JUSTID')
  if cancelled_by then return {'ok', 'cancel'} end
  return {'ok'}
end

if redis.call('EXISTS', task) == 0 then
  -- The job expired or was deleted: nothing left to report to.
  forget_entry()
  return {'gone'}
end
local status = redis.call('HGET', task, 'status')
if status and final_statuses[status] then
  -- Finished before, but the acknowledgement was lost (a crash between the two): done.
  forget_entry()
  return {'finished', status}
end

if cancelled_by and (op == 'start' or op == 'requeue') then
  redis.call('HSET', task, 'status', 'cancelled', 'finished_at_ms', now, 'worker', '')
  redis.call('HDEL', task, 'waiting', 'waiting_until_ms')
  forget_entry()
  emit(cjson.encode({job = job_id, task = redis.call('HGET', task, 'id'), at_ms = tonumber(now),
    kind = 'cancelled', by = cancelled_by}))
  count_task_end(ctx, 'cancelled')
  return {'cancelled'}
end

if op == 'start' then
  local attempts = tonumber(redis.call('HGET', task, 'attempts') or '0') + 1
  redis.call('HSET', task, 'status', 'running', 'worker', me, 'started_at_ms', now,
    'attempts', attempts, 'deliveries', deliveries)
  -- A hold (pull limit) of an earlier delivery is over.
  redis.call('HDEL', task, 'waiting', 'waiting_until_ms')
  if redis.call('HSETNX', job, 'started_at_ms', now) == 1 then index_status(ctx, 'running') end
  if event ~= '' then
    -- Only this script knows the attempt number.
    local started = cjson.decode(event)
    started.attempt = attempts
    emit(cjson.encode(started))
  end
  return {'ok', tostring(attempts), tostring(deliveries)}
end

if op == 'update' then
  for i = OP, #ARGV, 2 do
    redis.call('HSET', task, ARGV[i], ARGV[i + 1])
  end
  emit(event)
  if cancelled_by then return {'ok', 'cancel'} end
  return {'ok'}
end

if op == 'requeue' then
  redis.call('HSET', task, 'status', 'queued', 'worker', '')
  emit(event)
  -- Mark the entry long idle so the next worker's XAUTOCLAIM takes it at once, and take back
  -- this delivery: a hand-back is no failure and must not lead to the dead letters.
  redis.call('XCLAIM', stream, group, me, 0, id, 'IDLE', ARGV[OP],
    'RETRYCOUNT', math.max(deliveries - 1, 0), 'JUSTID')
  return {'ok'}
end

if op == 'finish' then
  local final, duration, dead_reason = ARGV[OP], tonumber(ARGV[OP + 1]), ARGV[OP + 2]
  local stats_reason = ARGV[OP + 3]
  redis.call('HSET', task, 'status', final, 'finished_at_ms', now, 'worker', '')
  for i = OP + 4, #ARGV, 2 do
    redis.call('HSET', task, ARGV[i], ARGV[i + 1])
  end
  if dead_reason ~= '' then
    local entry = redis.call('XRANGE', stream, id, id)
    local fields = entry[1] and entry[1][2] or {}
    table.insert(fields, 'reason'); table.insert(fields, dead_reason)
    table.insert(fields, 'deliveries'); table.insert(fields, tostring(deliveries))
    table.insert(fields, 'original_id'); table.insert(fields, id)
    redis.call('XADD', dead, 'MAXLEN', '~', dead_kept, '*', unpack(fields))
  end
  forget_entry()
  emit(event)

  -- A cancelled task was no sync: the statistics count copies and skips that ended.
  if final ~= 'cancelled' then
    redis.call('HINCRBY', stats, 'sync_total', 1)
    if final == 'failed' then
      redis.call('HINCRBY', stats, 'sync_failed', 1)
    else
      redis.call('HINCRBY', stats, 'sync_success', 1)
      if final == 'skipped' then redis.call('HINCRBY', stats, 'sync_skipped', 1) end
    end
    redis.call('HINCRBY', stats, 'duration_count', 1)
    redis.call('HINCRBY', stats, 'duration_sum_ms', duration)
    for _, le in ipairs(split(ARGV[12])) do
      if duration <= tonumber(le) * 1000 then redis.call('HINCRBY', stats, 'duration_le_' .. le, 1) end
    end

    -- The statistics over time: images by outcome, and how long copies took (skips are digest
    -- checks, not copies).
    local kind = final
    if final == 'succeeded' then kind = 'copied' end
    local fields = {[kind] = 1}
    if final == 'succeeded' then
      fields['dur_count'] = 1
      fields['dur_sum_ms'] = duration
      for _, le in ipairs(split(ARGV[12])) do
        if duration <= tonumber(le) * 1000 then fields['dur_le_' .. le] = 1 end
      end
    end
    count_stats(ctx, fields)
    if final == 'failed' then
      local n = tonumber(now)
      local day = string.format('%d', n - n % DAY_MS)
      local keep = tonumber(redis.call('HGET', job, 'stats_keep_s') or '') or STATS_KEEP_S
      local until_ms = n - n % DAY_MS + DAY_MS + keep * 1000
      local reasons, failing = ctx.day .. day .. ':reasons', ctx.day .. day .. ':failing'
      if stats_reason ~= '' then
        redis.call('ZINCRBY', reasons, 1, stats_reason)
        redis.call('PEXPIREAT', reasons, until_ms)
      end
      redis.call('ZINCRBY', failing, 1, redis.call('HGET', task, 'source') or '')
      redis.call('PEXPIREAT', failing, until_ms)
    end
  end

  -- A cancelled copy ran too, but its time says nothing about the registry: counted, not timed.
  count_task_end(ctx, final, final ~= 'cancelled' and duration or nil)
  return {'ok'}
end

return redis.error_reply('unknown op ' .. op)
