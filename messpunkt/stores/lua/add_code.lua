-- ARGV: prefix, grace, now, code hash, client_id, tenant_id, subject, scopes, property_ids,
-- has redirect_uri, redirect_uri, challenge, issued_at, expires_at, the sandbox as read.
-- Refused for a sandbox deleted or expired meanwhile (nothing would ever delete its key),
-- or reset or its clock moved since the request read it (see as_read).
local g, refused = as_read()
if not g then return {refused} end
local key = P .. 'code:' .. ARGV[4]
redis.call('HSET', key, 'g', g, 'client_id', ARGV[5], 'tenant_id', ARGV[6],
  'subject', ARGV[7], 'scopes', ARGV[8], 'property_ids', ARGV[9], 'has_redirect_uri', ARGV[10],
  'redirect_uri', ARGV[11], 'challenge', ARGV[12], 'issued_at', ARGV[13],
  'expires_at', ARGV[14], 'redeemed_at', '', 'sid', '')
expire(key, ARGV[14], ARGV[3])
return {'added'}
