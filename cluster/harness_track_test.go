package cluster_test

import "testing/fstest"

// diagPkg has Track, a Sequence that logs the first 20 numbers out of
// order and the process it saw them in.
var diagPkg = fstest.MapFS{
	"peacepie.toml": {Data: []byte("name = \"diag\"\nversion = \"0.1.0\"\n\n[actors]\nTrack = \"track\"\n")},
	"track.lua": {Data: []byte(`local pp = require "peacepie"
local Track = { params = { last = 0, errors = 0, log = {}, at = "" } }
function Track:start()
  self.at = pp.node()
  return "started"
end
function Track:next(body)
  if body.n ~= self.last + 1 and #self.log < 20 then
    table.insert(self.log, string.format("got %d after %d in %s", body.n, self.last, self.at))
  end
  if body.n ~= self.last + 1 then self.errors = self.errors + 1 end
  self.last = body.n
end
function Track:state()
  return "state", { last = self.last, errors = self.errors, log = table.concat(self.log, "; ") }
end
return Track
`)},
}
