-- ARGV: prefix, grace, client id, metadata JSON, secret hash ('' for none), now, reason.
-- Only a registration that is still there is replaced: a deleted one stays deleted.
-- A changed secret (issued, or dropped for none) revokes every session of the client in
-- the same step: its refresh tokens were bound to the old credential.
local key = P .. 'client:' .. ARGV[3]
if redis.call('EXISTS', key) == 0 then return 0 end
local before = redis.call('HGET', key, 'secret_hash')
redis.call('HSET', key, 'doc', ARGV[4], 'secret_hash', ARGV[5])
if before ~= ARGV[5] then revoke_client(ARGV[3], ARGV[7], ARGV[6]) end
return 1
