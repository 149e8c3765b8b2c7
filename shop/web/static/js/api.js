// The one way the storefront talks to the API: JSON in and out, the Bearer token added, problem
// documents (RFC 9457) turned into ApiError with the server's own `detail`, and a rejected token
// handed to one handler (main.js sends the user to the login page, keeping the cart).

import * as session from "./session.js";

export class ApiError extends Error {
  /** status 0 means the request never got an answer (network down, server gone). */
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `The shop answered ${status}.`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.requestId = problem.request_id ?? null;
  }

  /** The detail plus the per-field messages, for an error summary. */
  get fullMessage() {
    const fields = this.errors.map(({ loc, msg }) => `${describeLoc(loc)}: ${msg}`);
    return [this.message, ...fields].join(" ");
  }
}

function describeLoc(loc) {
  const parts = (Array.isArray(loc) ? loc : [loc]).filter((part) => part !== "body");
  return parts.map((part) => (typeof part === "number" ? `#${part + 1}` : String(part).replaceAll("_", " "))).join(" ");
}

let onUnauthorized = () => {};

/** main.js decides what a rejected token means for the page (back to login, cart kept). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/** Let the SSE reader report an expired token the same way. */
export function tokenRejected() {
  onUnauthorized();
}

/**
 * request("GET", "/api/products", {query, body, headers, signal})
 * → {status, data, headers}; throws ApiError for any non-2xx answer.
 */
export async function request(method, path, { query, body, headers = {}, signal, auth = true } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
  }
  const sent = { Accept: "application/json", ...headers };
  const current = auth ? session.current() : null;
  if (current && session.expired(current)) {
    // The token has run out by its own expires_in: the server would answer 401, so go
    // straight to what a 401 means (log in again) instead of sending it.
    onUnauthorized();
    throw new ApiError(401, { detail: "Your session has expired. Please log in again." });
  }
  const token = current?.token ?? null;
  if (token) sent.Authorization = `Bearer ${token}`;
  if (body !== undefined) sent["Content-Type"] = "application/json";

  let response;
  try {
    response = await fetch(url, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error; // the page was left: nobody is waiting
    throw new ApiError(0, { detail: "Could not reach the shop. Check your connection and try again." });
  }

  const data = await readBody(response);
  if (response.ok) return { status: response.status, data, headers: response.headers };

  if (response.status === 401 && token) {
    // The token was refused (expired or revoked). Only then: a wrong password at login is
    // also a 401, but it carried no token and its message belongs on the login form.
    onUnauthorized();
  }
  const problem = data && typeof data === "object" && !Array.isArray(data) ? data : {};
  throw new ApiError(response.status, problem);
}

async function readBody(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") ?? "";
  if (!type.includes("json")) return null;
  try {
    return await response.json();
  } catch {
    return null; // a truncated body is reported by the status, not by a parse error
  }
}

export const get = (path, options) => request("GET", path, options);
export const post = (path, body, options) => request("POST", path, { ...options, body });
export const patch = (path, body, options) => request("PATCH", path, { ...options, body });
export const del = (path, options) => request("DELETE", path, options);

/** The X-Total-Count of a list answer (lists are bare arrays; the total rides in a header). */
export function totalCount(headers, fallback) {
  const total = Number.parseInt(headers.get("X-Total-Count") ?? "", 10);
  return Number.isFinite(total) ? total : fallback;
}
