// Package workflow holds the data model of gemini-flow (workflows, nodes, edges, the editor
// state and sessions), their sanitising, and validation that collects every problem.
package workflow

// Workflow is a stored flow: its metadata, nodes and edges.
type Workflow struct {
	Metadata Metadata `json:"metadata"`
	Nodes    []Node   `json:"nodes"`
	Edges    []Edge   `json:"edges"`
}

// Metadata describes a workflow. Timestamps are Unix milliseconds.
type Metadata struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Version     string   `json:"version"`
	Author      string   `json:"author"`
	CreatedAt   int64    `json:"createdAt"`
	UpdatedAt   int64    `json:"updatedAt"`
	Tags        []string `json:"tags"`
}

// Position is a node's place on the canvas.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Node is one React Flow node. Data always holds a "label".
type Node struct {
	ID       string         `json:"id"`
	Type     string         `json:"type,omitempty"`
	Position Position       `json:"position"`
	Data     map[string]any `json:"data"`
	Selected *bool          `json:"selected,omitempty"` // nil: not sent; false is kept
	Dragging *bool          `json:"dragging,omitempty"`
	Width    *float64       `json:"width,omitempty"`
	Height   *float64       `json:"height,omitempty"`
	// React Flow's sub-flows: the group a node sits in (parentId, or parentNode before React
	// Flow 12), whose position its own is relative to, and how it is held there.
	ParentID     string `json:"parentId,omitempty"`
	ParentNode   string `json:"parentNode,omitempty"`
	Extent       any    `json:"extent,omitempty"` // "parent" or [[x1,y1],[x2,y2]]
	ExpandParent *bool  `json:"expandParent,omitempty"`
}

// Edge connects two nodes by id.
type Edge struct {
	ID       string `json:"id"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	Type     string `json:"type,omitempty"`
	Animated *bool  `json:"animated,omitempty"` // nil: not sent; false is kept
	Label    string `json:"label,omitempty"`
	Selected *bool  `json:"selected,omitempty"`
	// The handles an edge joins on nodes with more than one; absent or null: the default one.
	SourceHandle string `json:"sourceHandle,omitempty"`
	TargetHandle string `json:"targetHandle,omitempty"`
}

// EditorState is the live editor store shared by every client.
type EditorState struct {
	Nodes         []Node   `json:"nodes"`
	Edges         []Edge   `json:"edges"`
	SelectedNodes []string `json:"selectedNodes"`
	SelectedEdges []string `json:"selectedEdges"`
	LastUpdate    int64    `json:"lastUpdate"`
}

// SessionStatus is the life-cycle state of a session.
type SessionStatus string

// The session states.
const (
	SessionActive     SessionStatus = "active"
	SessionTerminated SessionStatus = "terminated"
	SessionExpired    SessionStatus = "expired"
)

// Session is a client session with free-form data and an expiry.
type Session struct {
	ID         string         `json:"id"`
	WorkflowID string         `json:"workflowId,omitempty"`
	Status     SessionStatus  `json:"status"`
	Data       map[string]any `json:"data"`
	CreatedAt  int64          `json:"createdAt"`
	UpdatedAt  int64          `json:"updatedAt"`
	ExpiresAt  int64          `json:"expiresAt"`
}

// Limits bounds what a workflow may hold; zero fields take the defaults of DefaultLimits.
type Limits struct {
	MaxNodes       int
	MaxEdges       int
	MaxName        int
	MaxDescription int
	MaxTags        int
	MaxDepth       int
	MaxBodyBytes   int
}

// DefaultLimits returns the limits of API.md.
func DefaultLimits() Limits {
	return Limits{MaxNodes: 1000, MaxEdges: 5000, MaxName: 200, MaxDescription: 5000, MaxTags: 50, MaxDepth: 10, MaxBodyBytes: 1 << 20}
}

// Problem is one validation finding: where, and what is wrong.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}
