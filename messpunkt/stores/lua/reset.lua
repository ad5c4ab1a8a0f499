-- ARGV: prefix, grace, clock fields after the reset (frozen_at, offset), data set ('' keeps
-- it and the registered clients), the clock as read (frozen_at, offset), an uploaded data
-- set's bytes ('' for a named one), then the ids of the fault rules that ended by the
-- clock as read: they go, the other rules stay.
-- Bump the generation: every record of the old one is unreachable at once; what the
-- session index lists is deleted now, the rest expires with its TTL.
local sbx = P .. 'sbx'
if redis.call('EXISTS', sbx) == 0 then return {} end  -- deleted or expired meanwhile
local read = redis.call('HMGET', sbx, 'frozen_at', 'offset')
if read[1] ~= ARGV[6] or read[2] ~= ARGV[7] then return 0 end  -- moved since: the caller retries
for i = 9, #ARGV do redis.call('HDEL', sbx, 'f:' .. ARGV[i], 'fc:' .. ARGV[i]) end
redis.call('HINCRBY', sbx, 'gen', 1)
redis.call('HSET', sbx, 'frozen_at', ARGV[3], 'offset', ARGV[4])
local old = redis.call('HGET', sbx, 'data_set')
-- Every session goes below, so every registered client's index of them goes too.
for _, id in ipairs(redis.call('ZRANGE', P .. 'clients', 0, -1)) do
  redis.call('UNLINK', client_sessions(id))
end
if ARGV[5] ~= '' then
  -- Another data set: registered clients named its tenants, so they go too.
  for _, id in ipairs(redis.call('ZRANGE', P .. 'clients', 0, -1)) do
    redis.call('UNLINK', P .. 'client:' .. id)
  end
  redis.call('UNLINK', P .. 'clients')
  if ARGV[5] ~= old then
    redis.call('HSET', sbx, 'data_set', ARGV[5])
    redis.call('UNLINK', P .. 'ds:' .. old)  -- the uploaded data set it replaces, if it was one
  end
  if ARGV[8] ~= '' then  -- an upload: its bytes, kept as long as the sandbox's state
    local key = P .. 'ds:' .. ARGV[5]
    redis.call('SET', key, ARGV[8])
    local ends = redis.call('PEXPIRETIME', sbx)  -- -1: the default sandbox, no expiry
    if ends > 0 then redis.call('PEXPIREAT', key, ends) end
  end
end
local index = P .. 'sessions'
for _, sid in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  redis.call('UNLINK', P .. 's:' .. sid, P .. 's:' .. sid .. ':ev')
end
redis.call('UNLINK', index)
return redis.call('HGETALL', sbx)
