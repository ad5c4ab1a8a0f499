-- ARGV: prefix, grace, client id, metadata JSON, secret hash ('' for none).
-- Only a registration that is still there is replaced: a deleted one stays deleted.
local key = P .. 'client:' .. ARGV[3]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'doc', ARGV[4], 'secret_hash', ARGV[5])
return 1
