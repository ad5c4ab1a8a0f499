-- ARGV: prefix, grace, created at, expires at (machine-clock ms), data set, status, seconds
-- the tombstone is kept. One step: whoever writes the tombstone ends the sandbox, and its
-- entry and state go with it, so from here on every path of it is 404 (with no state, no
-- record matches its generation). Its other keys, each with a TTL, go after.
-- 1 ended here, 0 another worker ended it first.
if redis.call('EXISTS', P .. 'ended') == 1 then return 0 end
redis.call('HSET', P .. 'ended', 'created_at', ARGV[3], 'expires_at', ARGV[4],
           'data_set', ARGV[5], 'status', ARGV[6])
redis.call('EXPIRE', P .. 'ended', ARGV[7])
redis.call('UNLINK', P .. 'meta', P .. 'sbx')
return 1
