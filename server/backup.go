package server

import (
	"bufio"
	"io"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

func (s *Server) bindBackup() {
	s.handleRaw(http.MethodGet, "/api/admin/backup", s.backup)
}

// backup streams a consistent copy of a database while the server keeps serving: the app's
// (?db=app, the default) or the metric history's (?db=history); the auth middleware already
// required a key when keys are configured.
func (s *Server) backup(ctx *fasthttp.RequestCtx) {
	var write func(io.Writer) (int64, error)
	prefix := "gemini-flow-"
	switch db := string(ctx.QueryArgs().Peek("db")); db {
	case "", "app":
		write = s.deps.Store.Backup
	case "history":
		if s.deps.History == nil {
			s.writeError(ctx, errConflict("the metrics history is turned off (history interval 0)"))
			return
		}
		write, prefix = s.deps.History.Backup, "history-"
	default:
		s.writeError(ctx, errProblem("db", `db must be "app" or "history"`))
		return
	}
	name := prefix + time.Now().UTC().Format("20060102T150405Z") + ".db"
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("application/octet-stream")
	ctx.Response.Header.Set(fasthttp.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	id := requestID(ctx)
	stall := s.cfg.WriteTimeout
	// Set here, fasthttp leaves the deadline to the handler; each chunk then extends it, so a
	// backup may take as long as it needs while a client that stops reading is cut.
	_ = ctx.SetWriteDeadline(time.Now().Add(stall))
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		n, err := write(stallCutter{w: w, ctx: ctx, stall: stall})
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			// Headers are gone; the truncated chunked stream tells the client it failed.
			s.log.Error("backup failed", "request_id", id, "bytes", n, "error", err)
		}
	})
}

// stallCutter extends the connection's write deadline before every chunk it passes on.
type stallCutter struct {
	w     *bufio.Writer
	ctx   *fasthttp.RequestCtx
	stall time.Duration
}

func (c stallCutter) Write(p []byte) (int, error) {
	if err := c.ctx.SetWriteDeadline(time.Now().Add(c.stall)); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
