-- ARGV: prefix, grace, created at, expires at (machine-clock ms), data set, status, seconds
-- the tombstone is kept. Whoever writes the tombstone ends the sandbox, whole in one step:
-- 1 ended here, 0 another worker ended it first.
if redis.call('EXISTS', P .. 'ended') == 1 then return 0 end
redis.call('HSET', P .. 'ended', 'created_at', ARGV[3], 'expires_at', ARGV[4],
           'data_set', ARGV[5], 'status', ARGV[6])
redis.call('EXPIRE', P .. 'ended', ARGV[7])
return 1
