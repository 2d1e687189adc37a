package server

import (
	"bufio"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

func (s *Server) bindBackup() {
	s.handleRaw(http.MethodGet, "/api/admin/backup", s.backup)
}

// backup streams a consistent copy of the database while the server keeps serving; the auth
// middleware already required a key when keys are configured.
func (s *Server) backup(ctx *fasthttp.RequestCtx) {
	name := "gemini-flow-" + time.Now().UTC().Format("20060102T150405Z") + ".db"
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("application/octet-stream")
	ctx.Response.Header.Set(fasthttp.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	id := requestID(ctx)
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		n, err := s.deps.Store.Backup(w)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			// Headers are gone; the truncated chunked stream tells the client it failed.
			s.log.Error("backup failed", "request_id", id, "bytes", n, "error", err)
		}
	})
}
