package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/gemini-flow/gemini-flow/store"
	"github.com/gemini-flow/gemini-flow/workflow"
	"github.com/gemini-flow/gemini-flow/ws"
)

// List paging bounds of API.md.
const (
	defaultListLimit = 50
	maxListLimit     = 500
)

func (s *Server) bindWorkflows() {
	s.handle(http.MethodGet, "/api/workflows", s.listWorkflows)
	s.handle(http.MethodPost, "/api/workflows", s.createWorkflow)
	s.handle(http.MethodPost, "/api/workflows/import", s.importWorkflow)
	s.handle(http.MethodGet, "/api/workflows/{id}", s.getWorkflow)
	s.handle(http.MethodPut, "/api/workflows/{id}", s.updateWorkflow)
	s.handle(http.MethodDelete, "/api/workflows/{id}", s.deleteWorkflow)
	s.handle(http.MethodGet, "/api/workflows/{id}/export", s.exportWorkflow)
}

// workflowEvent is the payload of workflow.created and workflow.updated; the workflow is the
// stored encoding.
type workflowEvent struct {
	Workflow json.RawMessage   `json:"workflow"`
	Metadata workflow.Metadata `json:"metadata"`
}

type workflowDeletedEvent struct {
	WorkflowID string            `json:"workflowId"`
	Metadata   workflow.Metadata `json:"metadata"`
}

func nowMs() int64 { return time.Now().UnixMilli() }

// pathID is the {id} of the route, refused when it could escape a path.
func pathID(ctx *fasthttp.RequestCtx) (string, error) {
	raw, _ := ctx.UserValue("id").(string)
	// The router matches the raw path, so the segment is still percent-encoded.
	id, err := url.PathUnescape(raw)
	if err != nil {
		return "", errProblem("id", "is not a valid path segment")
	}
	if err := workflow.ValidateID(id); err != nil {
		return "", errProblem("id", err.Error())
	}
	return id, nil
}

// maxSearchChars bounds a list's search, so that its cost stays bounded too.
const maxSearchChars = 1000

// listFilterProblems refuses a search or tag that is not UTF-8 text, and an overlong search.
func listFilterProblems(q store.ListQuery) []workflow.Problem {
	var problems []workflow.Problem
	if !utf8.ValidString(q.Search) {
		problems = append(problems, workflow.Problem{Field: "search", Message: "must be UTF-8 text"})
	} else if n := utf8.RuneCountInString(q.Search); n > maxSearchChars {
		problems = append(problems, workflow.Problem{Field: "search", Message: fmt.Sprintf("must be at most %d characters (got %d)", maxSearchChars, n)})
	}
	if slices.ContainsFunc(q.Tags, func(t string) bool { return !utf8.ValidString(t) }) {
		problems = append(problems, workflow.Problem{Field: "tags", Message: "must be UTF-8 text"})
	}
	return problems
}

func (s *Server) listWorkflows(ctx *fasthttp.RequestCtx) error {
	args := ctx.QueryArgs()
	q := store.ListQuery{Search: string(args.Peek("search")), Limit: defaultListLimit}
	for _, t := range strings.Split(string(args.Peek("tags")), ",") {
		if t = strings.TrimSpace(t); t != "" {
			q.Tags = append(q.Tags, t)
		}
	}
	problems := listFilterProblems(q)
	if args.Has("offset") {
		n, err := strconv.Atoi(string(args.Peek("offset")))
		if err != nil || n < 0 {
			problems = append(problems, workflow.Problem{Field: "offset", Message: "must be a whole number ≥ 0"})
		}
		q.Offset = n
	}
	if args.Has("limit") {
		n, err := strconv.Atoi(string(args.Peek("limit")))
		if err != nil || n < 1 || n > maxListLimit {
			problems = append(problems, workflow.Problem{Field: "limit", Message: "must be a whole number from 1 to " + strconv.Itoa(maxListLimit)})
		}
		q.Limit = n
	}
	if problems != nil {
		return errValidation("invalid query", problems)
	}
	return s.writeRawData(ctx, http.StatusOK, func(dst []byte) ([]byte, error) {
		dst = append(dst, `{"workflows":`...)
		dst, total, err := s.deps.Store.Workflows.AppendList(dst, q)
		if err != nil {
			return dst, dbError(err)
		}
		dst = append(dst, `,"total":`...)
		dst = strconv.AppendInt(dst, int64(total), 10)
		return append(dst, '}'), nil
	})
}

// writeRawData writes the success envelope, as writeData would, around data that fill appends
// already encoded. Stored workflows are their own JSON encoding, so they go into the response
// body without being decoded and encoded again; the body is built in the response's own buffer.
func (s *Server) writeRawData(ctx *fasthttp.RequestCtx, status int, fill func(dst []byte) ([]byte, error)) error {
	buf := ctx.Response.SwapBody(nil)[:0]
	buf = append(buf, `{"success":true,"data":`...)
	buf, err := fill(buf)
	if err != nil {
		ctx.Response.SwapBody(buf[:0])
		return err
	}
	buf = append(buf, `,"error":null,"timestamp":"`...)
	buf = time.Now().UTC().AppendFormat(buf, timeLayout)
	buf = append(buf, `","version":`...)
	buf = append(buf, s.versionJSON...)
	buf = append(buf, '}')
	ctx.Response.SwapBody(buf)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	return nil
}

func (s *Server) getWorkflow(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	return s.writeRawData(ctx, http.StatusOK, func(dst []byte) ([]byte, error) {
		dst, err := s.deps.Store.Workflows.AppendJSON(dst, id)
		if err != nil {
			return dst, dbError(err)
		}
		return dst, nil
	})
}

// decoded turns a decoder's problems into the validation error.
func decoded(wf *workflow.Workflow, problems []workflow.Problem, err error) (*workflow.Workflow, error) {
	if err != nil {
		return nil, err
	}
	if problems != nil {
		return nil, &workflow.ValidationError{What: "workflow", Problems: problems}
	}
	return wf, nil
}

// wroteWorkflow tells every client about a stored workflow and answers with it, both from
// the bytes the store holds.
func (s *Server) wroteWorkflow(ctx *fasthttp.RequestCtx, status int, event string, wf *workflow.Workflow, data []byte) error {
	s.broadcast(event, workflowEvent{Workflow: data, Metadata: wf.Metadata})
	return s.writeRawData(ctx, status, func(dst []byte) ([]byte, error) { return append(dst, data...), nil })
}

func (s *Server) createWorkflow(ctx *fasthttp.RequestCtx) error {
	wf, err := decoded(workflow.DecodeCreate(ctx.PostBody(), s.lim, nowMs()))
	if err != nil {
		return err
	}
	data, err := workflow.Encode(wf)
	if err != nil {
		return err
	}
	if err := s.deps.Store.Workflows.CreateJSON(wf, data); err != nil {
		return dbError(err)
	}
	return s.wroteWorkflow(ctx, http.StatusCreated, ws.EventWorkflowCreated, wf, data)
}

func (s *Server) importWorkflow(ctx *fasthttp.RequestCtx) error {
	args := ctx.QueryArgs()
	overwrite, err := boolArg(args, "overwrite", false)
	if err != nil {
		return err
	}
	newID, err := boolArg(args, "generateNewId", false)
	if err != nil {
		return err
	}
	wf, err := decoded(workflow.DecodeImport(ctx.PostBody(), s.lim, newID))
	if err != nil {
		return err
	}
	wf.Stamp(nowMs())
	data, err := workflow.Encode(wf)
	if err != nil {
		return err
	}
	if overwrite {
		err = s.deps.Store.Workflows.PutJSON(wf, data)
	} else {
		err = s.deps.Store.Workflows.CreateJSON(wf, data)
	}
	if err != nil {
		return dbError(err)
	}
	return s.wroteWorkflow(ctx, http.StatusCreated, ws.EventWorkflowCreated, wf, data)
}

func (s *Server) updateWorkflow(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	patch, err := workflow.DecodeUpdate(ctx.PostBody(), s.lim)
	if err != nil {
		return err
	}
	now := nowMs()
	wf, data, err := s.deps.Store.Workflows.UpdateJSON(id, func(w *workflow.Workflow) error {
		if problems := workflow.ApplyUpdate(w, patch, s.lim, now); problems != nil {
			return &workflow.ValidationError{What: "workflow", Problems: problems}
		}
		return nil
	})
	if err != nil {
		return dbError(err)
	}
	return s.wroteWorkflow(ctx, http.StatusOK, ws.EventWorkflowUpdated, wf, data)
}

func (s *Server) deleteWorkflow(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	wf, err := s.deps.Store.Workflows.Delete(id)
	if err != nil {
		return dbError(err)
	}
	s.broadcast(ws.EventWorkflowDeleted, workflowDeletedEvent{WorkflowID: id, Metadata: wf.Metadata})
	return s.writeData(ctx, http.StatusOK, map[string]any{"deleted": true, "workflow": wf})
}

func (s *Server) exportWorkflow(ctx *fasthttp.RequestCtx) error {
	id, err := pathID(ctx)
	if err != nil {
		return err
	}
	args := ctx.QueryArgs()
	withMeta, err := boolArg(args, "includeMetadata", true)
	if err != nil {
		return err
	}
	pretty, err := boolArg(args, "prettyPrint", true)
	if err != nil {
		return err
	}
	wf, err := s.deps.Store.Workflows.Get(id)
	if err != nil {
		return dbError(err)
	}
	var v any = wf
	if !withMeta {
		v = struct {
			Nodes []workflow.Node `json:"nodes"`
			Edges []workflow.Edge `json:"edges"`
		}{wf.Nodes, wf.Edges}
	}
	var b []byte
	if pretty {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	ctx.Response.Header.Set(fasthttp.HeaderContentDisposition, `attachment; filename="workflow-`+safeFilename(id)+`.json"`)
	writeJSON(ctx, http.StatusOK, b)
	return nil
}

// safeFilename keeps [A-Za-z0-9._-] so an id cannot break the header's quoting.
func safeFilename(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, s)
}

// boolArg reads an optional true/false query parameter.
func boolArg(args *fasthttp.Args, name string, def bool) (bool, error) {
	if !args.Has(name) {
		return def, nil
	}
	v, err := strconv.ParseBool(string(args.Peek(name)))
	if err != nil {
		return false, errProblem(name, "must be true or false")
	}
	return v, nil
}
