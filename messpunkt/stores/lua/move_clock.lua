-- ARGV: prefix, grace, the clock as read (frozen_at, offset), the clock to set.
-- Set only if nobody moved it in between (compare-and-set); the caller retries.
local sbx = P .. 'sbx'
local now = redis.call('HMGET', sbx, 'frozen_at', 'offset')
if now[1] ~= ARGV[3] or now[2] ~= ARGV[4] then return 0 end
redis.call('HSET', sbx, 'frozen_at', ARGV[5], 'offset', ARGV[6])
return 1
