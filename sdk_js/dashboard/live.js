// Live updates: a graphql-transport-ws subscription to one gig, used as a "this gig changed"
// signal (the page then asks its whole report again). A few lines of the protocol instead of
// a client library; polling takes over whenever this is not open.
const QUERY = "subscription($gig: ID!) { gigMetricsUpdates(gigId: $gig) { gigId } }";

/** Watch `gig` as the holder of `key`; `onChange` runs on every update. */
export function watchGig(key, gig, onChange) {
  const watch = { gig, open: false, closed: false, close: () => socket.close() };
  let socket;
  try {
    socket = new WebSocket(`${location.origin.replace(/^http/, "ws")}/graphql`,
      "graphql-transport-ws");
  } catch {
    watch.closed = true;
    return watch;
  }
  const send = (message) => socket.send(JSON.stringify(message));
  socket.onopen = () => send({ type: "connection_init",
    payload: { Authorization: `Bearer ${key}` } });
  socket.onmessage = ({ data }) => {
    const message = JSON.parse(data);
    if (message.type === "connection_ack") {
      send({ id: "1", type: "subscribe", payload: { query: QUERY, variables: { gig } } });
    } else if (message.type === "ping") {
      send({ type: "pong" });
    } else if (message.type === "next" && !message.payload.errors) {
      watch.open = true;
      onChange();
    } else if (message.type !== "pong") {
      socket.close(); // refused (a cap, the key) or finished: polling goes on
    }
  };
  socket.onclose = () => {
    watch.open = false;
    watch.closed = true;
  };
  return watch;
}
