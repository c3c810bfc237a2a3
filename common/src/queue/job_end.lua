-- Prepended to transitions.lua and cancel.lua: both may end a job's last task.
--
-- Counts a task's end in its job hash and, when it was the job's last task, sets the job's final
-- status, publishes `job_finished` and adds the end to the job-ends stream (`ends`, fields `job`,
-- `status`, `at_ms`), from which the api's notifier sends webhooks: written in the same script,
-- so no end is lost between the job finishing and the notifier hearing of it.
--
-- The status rule is `JobStatus::derive` (job.rs), written again here because it must be set
-- atomically with the last task's end; the records test (`common/tests/queue_records.rs`) keeps
-- the two in step.

-- Ends kept in the stream at most: a bound in case no api reads it for a long time.
local JOB_ENDS_KEPT = 10000

local function count_task_end(job, job_id, final, now, emit, ends)
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
  emit(cjson.encode({job = job_id, at_ms = tonumber(now), kind = 'job_finished', status = status}))
  redis.call('XADD', ends, 'MAXLEN', '~', JOB_ENDS_KEPT, '*', 'job', job_id, 'status', status, 'at_ms', now)
end

