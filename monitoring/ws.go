package monitoring

// WSConnected counts a client in gemini_flow_websocket_connections_active.
func (r *Registry) WSConnected() { r.wsActive.Inc() }

// WSDisconnected counts a client out of gemini_flow_websocket_connections_active.
func (r *Registry) WSDisconnected() { r.wsActive.Dec() }

type wsKey struct{ direction, typ string }

// WSMessages counts n frames of eventType (bounded by WSEventType) in direction
// (Inbound or Outbound).
func (r *Registry) WSMessages(direction, eventType string, n int) {
	if n <= 0 {
		return
	}
	k := wsKey{direction: directionLabel(direction), typ: WSEventType(eventType)}
	c, ok := r.ws.get(k)
	if !ok {
		c = r.ws.put(k, r.sets[famWSMessages].GetOrCreateCounter(seriesName(famWSMessages, k.direction, k.typ)))
	}
	c.Add(n)
}
