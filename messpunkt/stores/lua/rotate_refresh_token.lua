-- ARGV: prefix, grace, now, token hash, client_id, requested scopes (space-separated),
-- access ttl, successor hash, refresh ttl, the sandbox as read (see as_read).
local g, refused = as_read()
if not g then return {refused} end
local now = ARGV[3]
local key = P .. 'rt:' .. ARGV[4]
local t = redis.call('HMGET', key, 'g', 'sid', 'client_id', 'expires_at', 'rotated_at')
if t[1] ~= g then return {'refused', 'unknown_refresh_token'} end
local skey = session_of(t[2], g)
-- RFC 6749 §6: the token must have been issued to this client.
if not skey or t[3] ~= ARGV[5] then return {'refused', 'refresh_other_client'} end
local s = redis.call('HMGET', skey, 'revoked_at', 'expires_at', 'scopes')
-- Expired first: a replay is detected until the token's own expiry, never later, as in
-- memory, whose sweeps forget it then (retention.py).
if tonumber(now) >= tonumber(t[4]) or tonumber(now) >= tonumber(s[2]) then
  return {'refused', 'refresh_expired'}
end
if t[5] ~= '' then
  if s[1] == '' then
    record(t[2], now, 'replay_detected', 'a rotated refresh token was presented again')
    revoke(t[2], 'refresh token replay detected', now, g)
  end
  return {'refused', 'refresh_replayed'}
end
if s[1] ~= '' then return {'refused', 'session_revoked'} end
-- RFC 6749 §6: a refresh may narrow the scope, never widen it.
local granted, extra = {}, {}
for scope in string.gmatch(s[3], '%S+') do granted[scope] = true end
for scope in string.gmatch(ARGV[6], '%S+') do
  if not granted[scope] then table.insert(extra, scope) end
end
if #extra > 0 then return {'refused', 'scope_not_granted', table.concat(extra, ' ')} end
redis.call('HSET', key, 'rotated_at', now)
record(t[2], now, 'rotated', 'refresh token rotated')
return issue(t[2], now, g, ARGV[7], ARGV[8], ARGV[9])
