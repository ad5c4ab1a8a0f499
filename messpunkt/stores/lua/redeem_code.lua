-- ARGV: prefix, grace, now, code hash, client_id, redirect_uri, verifier challenge,
-- then the new session and its issue (see open), the sandbox as read (see as_read).
local g, refused = as_read()
if not g then return {refused} end
local now = ARGV[3]
local key = P .. 'code:' .. ARGV[4]
local c = redis.call('HMGET', key, 'g', 'client_id', 'has_redirect_uri', 'redirect_uri',
  'challenge', 'expires_at', 'redeemed_at', 'sid', 'tenant_id', 'subject', 'scopes',
  'property_ids')
if c[1] ~= g then return {'refused', 'unknown_code'} end
if client_gone(8, ARGV[5]) then return {'refused', 'client_gone'} end
if c[7] ~= '' then
  -- OAuth 2.1 §4.1.3: a code used twice revokes what it issued.
  if c[8] ~= '' then revoke(c[8], 'authorization code redeemed twice', now, g) end
  return {'refused', 'code_reused'}
end
-- Consumed from here on, whatever the checks below decide.
redis.call('HSET', key, 'redeemed_at', now)
if tonumber(now) >= tonumber(c[6]) then return {'refused', 'code_expired'} end
if ARGV[5] ~= c[2] then return {'refused', 'code_other_client'} end
-- RFC 6749 §4.1.3: required, and identical, if the authorization request had it.
if ARGV[6] == '' and c[3] == '1' then return {'refused', 'redirect_uri_missing'} end
if ARGV[6] ~= '' and ARGV[6] ~= c[4] then return {'refused', 'redirect_uri_mismatch'} end
if ARGV[7] == '' or ARGV[7] ~= c[5] then return {'refused', 'pkce_mismatch'} end
redis.call('HSET', key, 'sid', ARGV[8])
-- The grant is the code's: its client, tenant, subject, scopes and properties.
ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14] = c[2], c[9], c[10], c[11], c[12]
return open(8, now, g)
