-- ARGV: prefix, grace, client id, metadata JSON, secret hash ('' for none), now, reason,
-- grant basis, its reason. Only a registration that is still there is replaced: a deleted
-- one stays deleted. A changed secret (issued, or dropped for none) or a changed grant basis
-- (Registration.grant_basis: scopes, grant types, tenant, properties) revokes every session
-- of the client in the same step, as `sessions_end` says for the memory store.
local key = P .. 'client:' .. ARGV[3]
if redis.call('EXISTS', key) == 0 then return 0 end
local before = redis.call('HMGET', key, 'secret_hash', 'basis')
redis.call('HSET', key, 'doc', ARGV[4], 'secret_hash', ARGV[5], 'basis', ARGV[8])
if before[1] ~= ARGV[5] then
  revoke_client(ARGV[3], ARGV[7], ARGV[6])
elseif before[2] and before[2] ~= ARGV[8] then  -- none: kept before bases were, unknown
  revoke_client(ARGV[3], ARGV[9], ARGV[6])
end
return 1
