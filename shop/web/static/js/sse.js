// Server-Sent Events over fetch(). EventSource cannot send an Authorization header and the API
// never accepts a token in the URL, so the stream is read with fetch() + ReadableStream and
// parsed here, following the WHATWG event-stream rules. On a drop it reconnects with backoff and
// sends Last-Event-ID, so the server replays whatever changed while the page was offline.

import * as session from "./session.js";
import { tokenRejected } from "./api.js";

const MAX_BACKOFF_MS = 15_000;
const DEFAULT_RETRY_MS = 1_000;

/** Incremental parser: push() text as it arrives, get back the events it completed. */
export class EventStreamParser {
  constructor(lastEventId = "") {
    // The id of the last *dispatched* event: what a reconnect sends as Last-Event-ID. An id
    // line goes into idBuffer first and counts only once its event is complete.
    this.lastEventId = lastEventId;
    this.retry = null; // the server's `retry:` in ms, once it sent one
    this.newConnection();
  }

  /** Forget a half-received event: the server replays it after Last-Event-ID. */
  newConnection() {
    this.buffer = "";
    this.idBuffer = this.lastEventId;
    this.reset();
  }

  reset() {
    this.type = "";
    this.data = [];
  }

  push(text) {
    this.buffer += text;
    const events = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone \r at the end may be the first half of a \r\n split across two chunks.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  line(line) {
    if (line === "") {
      // A blank line dispatches; without data there is nothing to dispatch (the id still counts).
      this.lastEventId = this.idBuffer;
      const event = this.data.length
        ? { type: this.type || "message", data: this.data.join("\n"), id: this.lastEventId }
        : null;
      this.reset();
      return event;
    }
    if (line.startsWith(":")) return null; // a comment: the server's keep-alive
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "event") this.type = value;
    else if (name === "data") this.data.push(value);
    else if (name === "id" && !value.includes("\0")) this.idBuffer = value;
    else if (name === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
    return null;
  }
}

/**
 * Follow an event stream until `signal` aborts.
 *   onEvent({type, data, id})       every event (data is the raw text)
 *   onState("connecting" | "open" | "reconnecting" | "closed", error?)
 * Last-Event-ID survives reconnects; a 401 goes to the shared "log in again" handler; 403/404
 * close the stream for good (retrying cannot make someone else's order visible).
 */
export function follow(url, { onEvent, onState = () => {}, signal, fetchImpl = fetch, lastEventId = "" }) {
  const done = run();
  return { done };

  async function run() {
    const parser = new EventStreamParser(lastEventId);
    let failures = 0;
    while (!signal.aborted) {
      onState(failures ? "reconnecting" : "connecting");
      try {
        const headers = { Accept: "text/event-stream" };
        const token = session.token();
        if (token) headers.Authorization = `Bearer ${token}`;
        if (parser.lastEventId) headers["Last-Event-ID"] = parser.lastEventId;
        const response = await fetchImpl(url, { headers, signal, cache: "no-store" });
        if (response.status === 401) {
          onState("closed", new Error("Your session has expired."));
          tokenRejected();
          return;
        }
        if (response.status === 403 || response.status === 404) {
          onState("closed", new Error(`The shop answered ${response.status}.`));
          return;
        }
        if (!response.ok || !response.body) throw new Error(`The shop answered ${response.status}.`);
        onState("open");
        failures = 0;
        await read(response.body, parser, onEvent, signal);
        // The server ended the stream (restart, deploy): reconnect like after a drop.
      } catch (error) {
        if (signal.aborted) break;
        // A network error: fall through to the backoff.
      }
      if (signal.aborted) break;
      failures += 1;
      onState("reconnecting");
      await pause(backoff(parser.retry ?? DEFAULT_RETRY_MS, failures), signal);
    }
    onState("closed");
  }
}

async function read(body, parser, onEvent, signal) {
  parser.newConnection();
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const stop = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", stop, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const event of parser.push(value)) onEvent(event);
    }
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

/** Exponential backoff from the server's retry hint, capped, with jitter so that many pages
 * reconnecting after the same outage do not all arrive at once. */
export function backoff(baseMs, failures) {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Wait, but stop early when the page is left or the browser says the network is back. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      window.removeEventListener("online", finish);
      resolve();
    };
    const timer = setTimeout(finish, ms);
    signal.addEventListener("abort", finish, { once: true });
    window.addEventListener("online", finish, { once: true });
  });
}
