-- Prepended to transitions.lua and cancel.lua: both may end a job's last task, and both keep the
-- job's index and statistics with it.
--
-- `ctx` carries what both scripts know: job (hash key), job_id, now (ms), emit (publishes an
-- event), ends (job-ends stream), index (status index key prefix, `Keys::jobs_by("status", "")`),
-- hour and day (statistics bucket key prefixes, `Keys::stats_bucket_prefix`), stats (the
-- cluster-wide stats hash, `Keys::stats`).
--
-- The status rule is `JobStatus::derive` (job.rs), written again here because it must be set
-- atomically with the last task's end; the records test (`common/tests/queue_records.rs`) keeps
-- the two in step.

-- Ends kept in the stream at most: a bound in case no api reads it for a long time.
local JOB_ENDS_KEPT = 10000
local HOUR_MS, DAY_MS = 3600000, 86400000
-- Statistics kept when the job does not say (jobs queued before it did).
local STATS_KEEP_S = 7776000

-- Moves the job to the status set `to` of the index (score: its creation time).
local function index_status(ctx, to)
  local created = redis.call('HGET', ctx.job, 'created_at_ms') or ctx.now
  redis.call('ZREM', ctx.index .. 'queued', ctx.job_id)
  redis.call('ZREM', ctx.index .. 'running', ctx.job_id)
  redis.call('ZADD', ctx.index .. to, created, ctx.job_id)
end

-- Adds `fields` (name -> n) to the hour's and the day's statistics, in total and for the job's
-- target registry (`r:<registry>:<name>`), each bucket kept for the job's statistics retention
-- after it ends.
local function count_stats(ctx, fields)
  local keep = tonumber(redis.call('HGET', ctx.job, 'stats_keep_s') or '') or STATS_KEEP_S
  local registry = redis.call('HGET', ctx.job, 'registry') or ''
  local now = tonumber(ctx.now)
  for _, span in ipairs({{ctx.hour, HOUR_MS}, {ctx.day, DAY_MS}}) do
    local start = now - now % span[2]
    local key = span[1] .. string.format('%d', start)
    for name, n in pairs(fields) do
      redis.call('HINCRBY', key, name, n)
      redis.call('HINCRBY', key, 'r:' .. registry .. ':' .. name, n)
    end
    redis.call('PEXPIREAT', key, start + span[2] + keep * 1000)
  end
end

-- Upper bounds (ms) of the cluster-wide task-duration histogram (`docker_sync_task_duration_seconds`):
-- from 10 ms, since a skip is one manifest HEAD. `stats::TASK_SECONDS_LE_MS` is the same list.
local TASK_SECONDS_LE_MS = {10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
  120000, 300000, 600000, 1800000, 3600000}

-- Counts a task's end into the cluster-wide stats hash (`ctx.stats`, never expires), which every
-- api replica serves at `/metrics/cluster`: `tasks:<final>:<registry>` and, for a task that ran
-- (`duration_ms` given), `task_seconds:<final>:{count,sum_ms,le_<ms>|le_inf}:<registry>`. A
-- duration counts into its smallest bucket only; the api adds them up into cumulative buckets.
local function count_cluster(ctx, final, duration_ms)
  local registry = redis.call('HGET', ctx.job, 'registry') or ''
  redis.call('HINCRBY', ctx.stats, 'tasks:' .. final .. ':' .. registry, 1)
  if duration_ms == nil then return end
  local base, tail = 'task_seconds:' .. final .. ':', ':' .. registry
  redis.call('HINCRBY', ctx.stats, base .. 'count' .. tail, 1)
  redis.call('HINCRBY', ctx.stats, base .. 'sum_ms' .. tail, duration_ms)
  local bucket = 'le_inf'
  for _, le in ipairs(TASK_SECONDS_LE_MS) do
    if duration_ms <= le then bucket = 'le_' .. le; break end
  end
  redis.call('HINCRBY', ctx.stats, base .. bucket .. tail, 1)
end

-- Counts a task's end in its job hash and, when it was the job's last task, sets the job's final
-- status, moves it in the index, counts it in the statistics, publishes `job_finished` and adds
-- the end to the job-ends stream (fields `job`, `status`, `at_ms`), from which the api's notifier
-- sends webhooks: written in the same script, so no end is lost between the job finishing and the
-- notifier hearing of it.
local function count_task_end(ctx, final, duration_ms)
  local job, job_id, now = ctx.job, ctx.job_id, ctx.now
  count_cluster(ctx, final, duration_ms)
  redis.call('HINCRBY', job, final, 1)
  local finished = redis.call('HINCRBY', job, 'finished', 1)
  local total = tonumber(redis.call('HGET', job, 'total') or '0')
  if finished ~= total then return end
  local function n(field) return tonumber(redis.call('HGET', job, field) or '0') end
  local status
  if n('cancelled') > 0 then
    status = 'cancelled'
  elseif n('failed') == 0 then
    status = 'succeeded'
  elseif n('succeeded') + n('skipped') > 0 then
    status = 'partial'
  else
    status = 'failed'
  end
  redis.call('HSET', job, 'status', status, 'finished_at_ms', now)
  index_status(ctx, status)
  count_stats(ctx, {['jobs_' .. status] = 1})
  ctx.emit(cjson.encode({job = job_id, at_ms = tonumber(now), kind = 'job_finished', status = status}))
  redis.call('XADD', ctx.ends, 'MAXLEN', '~', JOB_ENDS_KEPT, '*', 'job', job_id, 'status', status, 'at_ms', now)
end

-- Keeps a key the job's data lives in for as long as the job hash: the api set the job's
-- retention, and the workers need not know it.
local function keep_with_job(job, key)
  local left = redis.call('PTTL', job)
  if left > 0 then redis.call('PEXPIRE', key, left) end
end
