// Package web serves the console of a peacepie process: a page and the
// WebSocket /ws that carries requests to actors. Every request needs the
// system's token. The request protocol is in docs/protocol.md.
package web
