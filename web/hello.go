package web

import (
	"net/http"

	"github.com/peacepie/peacepie/host"
	"github.com/peacepie/peacepie/internal/proof"
)

// serveProof answers GET /api/hello?nonce=N, with or without the token:
// {"proof": proof.Hello(token, N)}. A client checks it before it sends
// the token (internal/client), so a program that is not this console,
// listening where a client looks for it, never gets the token.
func (s *Server) serveProof(w http.ResponseWriter, nonce string) {
	if len(nonce) < proof.MinNonce || len(nonce) > proof.MaxNonce {
		http.Error(w, "the nonce must be 16 to 128 characters", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	data, _ := host.MarshalValue(host.Object{{Key: "proof", Value: proof.Hello(s.cfg.Token, nonce)}})
	w.Write(data)
}
