-- ARGV: prefix, grace, now, client id. Forget the client and, in the same step, revoke
-- every session of it, so that none of its refresh or access tokens works again.
if redis.call('DEL', P .. 'client:' .. ARGV[4]) == 0 then return 0 end
redis.call('ZREM', P .. 'clients', ARGV[4])
revoke_client(ARGV[4], 'client deleted', ARGV[3])
redis.call('DEL', client_sessions(ARGV[4]))
return 1
