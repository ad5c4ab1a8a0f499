-- ARGV: prefix, grace, now, client id. Forget the client and, in the same step, revoke
-- every session of it, so that none of its refresh or access tokens works again.
if redis.call('DEL', P .. 'client:' .. ARGV[4]) == 0 then return 0 end
redis.call('ZREM', P .. 'clients', ARGV[4])
local g = generation()
for _, sid in ipairs(redis.call('ZRANGE', P .. 'sessions', 0, -1)) do
  local key = session_of(sid, g)
  if key and redis.call('HGET', key, 'client_id') == ARGV[4] then
    revoke(sid, 'client deleted', ARGV[3], g)
  end
end
return 1
