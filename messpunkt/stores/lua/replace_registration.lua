-- ARGV: prefix, grace, now, client id, metadata JSON, secret hash ('' for none), reason,
-- grant basis, its reason, the sandbox as read (see as_read). Only a registration that
-- is still there is replaced ('replaced', else 'missing'): a deleted one stays deleted. A
-- changed secret (issued, or dropped for none) or a changed grant basis
-- (Registration.grant_basis: scopes, grant types, tenant, properties) revokes every session
-- of the client in the same step, as `sessions_end` says for the memory store.
local g, refused = as_read()
if not g then return {refused} end
local key = P .. 'client:' .. ARGV[4]
if redis.call('EXISTS', key) == 0 then return {'missing'} end
local before = redis.call('HMGET', key, 'secret_hash', 'basis')
redis.call('HSET', key, 'doc', ARGV[5], 'secret_hash', ARGV[6], 'basis', ARGV[8])
if before[1] ~= ARGV[6] then
  revoke_client(ARGV[4], ARGV[7], ARGV[3])
elseif before[2] and before[2] ~= ARGV[8] then  -- none: kept before bases were, unknown
  revoke_client(ARGV[4], ARGV[9], ARGV[3])
end
return {'replaced'}
