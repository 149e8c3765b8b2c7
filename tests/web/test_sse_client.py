"""sse.js on its own, in the browser, against scripted responses: the parts of reading a live
stream that a real network only shows by luck (chunks split mid-line, a drop mid-event, a
reconnect that must carry the token and Last-Event-ID)."""

from __future__ import annotations

from tests.web.conftest import Page


async def test_the_parser_follows_the_event_stream_rules(page: Page) -> None:
    await page.goto("/")
    events = await page.evaluate(
        """async () => {
          const { EventStreamParser } = await import('/static/js/sse.js');
          const parser = new EventStreamParser();
          const out = [];
          for (const chunk of [
            ': keep-alive\\n\\nretry: 2000\\n\\n',       // a comment and a retry hint dispatch nothing
            'event: status\\nid: 1\\ndata: {"a":',          // split in the middle of a line
            '1}\\n\\n',
            'data: line one\\r',                         // CRLF split across chunks
            '\\ndata: line two\\r\\n\\r\\n',
            'id: 9\\ndata:no space\\nevent: custom\\n\\n',
          ]) out.push(...parser.push(chunk));
          return { out, lastEventId: parser.lastEventId, retry: parser.retry };
        }"""
    )
    assert events == {
        "out": [
            {"type": "status", "data": '{"a":1}', "id": "1"},
            {"type": "message", "data": "line one\nline two", "id": "1"},
            {"type": "custom", "data": "no space", "id": "9"},
        ],
        "lastEventId": "9",
        "retry": 2000,
    }


async def test_the_reader_reconnects_with_the_token_and_last_event_id_after_a_drop(page: Page) -> None:
    await page.goto("/")
    result = await page.evaluate(
        """async () => {
          const { follow } = await import('/static/js/sse.js');
          localStorage.setItem('shop.session.v1', JSON.stringify({
            token: 'the-token', user: {id: 1, name: 'A', email: 'a@example.com', role: 'customer'},
            expiresAt: Date.now() + 3_600_000,
          }));
          const encoder = new TextEncoder();
          // One chunk per read, then the end (or the drop): error() would discard queued chunks.
          const stream = (chunks, drop) => new ReadableStream({
            pull(controller) {
              if (chunks.length) controller.enqueue(encoder.encode(chunks.shift()));
              else if (drop) controller.error(new TypeError('network error'));
              else controller.close();
            },
          });
          const ok = (body) => new Response(body, {status: 200, headers: {'Content-Type': 'text/event-stream'}});
          const script = [
            // Connected: one event, then the network drops half-way through the next one.
            () => ok(stream(['retry: 5\\n\\n', 'event: status\\nid: 1\\ndata: {"id":7,"status":"Created"}\\n\\n',
                             'event: status\\nid: 2\\ndata: {"id":7,'], true)),
            // Still offline.
            () => { throw new TypeError('Failed to fetch'); },
            // Back: the server replays what came after Last-Event-ID.
            () => ok(stream(['event: status\\r\\nid: 2\\r\\ndata: {"id":7,"status":"Dispatched"}\\r\\n\\r\\n'])),
          ];
          const calls = [];
          const states = [];
          const events = [];
          const abort = new AbortController();
          let finished;
          const done = new Promise((resolve) => { finished = resolve; });
          follow('/api/orders/7/events', {
            signal: abort.signal,
            fetchImpl: async (url, init) => {
              calls.push({url: String(url), headers: init.headers});
              const next = script.shift();
              return next ? next() : new Promise(() => {});
            },
            onState: (state) => states.push(state),
            onEvent: (event) => {
              events.push(JSON.parse(event.data).status);
              if (events.length === 2) { abort.abort(); finished(); }
            },
          });
          await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 10_000))]);
          return { calls, states, events };
        }"""
    )
    assert result["events"] == ["Created", "Dispatched"]  # nothing lost, nothing doubled
    first, *retries = result["calls"]
    assert first["headers"] == {"Accept": "text/event-stream", "Authorization": "Bearer the-token"}
    assert len(retries) == 2
    for call in retries:
        # The half-received event 2 was not taken: the reconnect asks for everything after 1.
        assert call["headers"] == {
            "Accept": "text/event-stream",
            "Authorization": "Bearer the-token",
            "Last-Event-ID": "1",
        }
        assert call["url"] == "/api/orders/7/events"  # the token never goes into the URL
    assert result["states"][:3] == ["connecting", "open", "reconnecting"]
    assert "open" in result["states"][3:]
