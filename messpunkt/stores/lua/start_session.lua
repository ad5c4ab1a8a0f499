-- ARGV: prefix, grace, now, then the new session and its issue (see open).
if client_gone(4, ARGV[6]) then return {'refused', 'client_gone'} end
return open(4, ARGV[3], generation())
