"""Schemas the document needs that no service model provides: the problem document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProblemFieldError(BaseModel):
    loc: list[str | int] = Field(
        description="Where the problem is: a path into the body, or ['query', name] / ['header', name]."
    )
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem document (application/problem+json): the shape of every error."""

    # Extension members appear where they help, e.g. `checks` on a 503 from /ready.
    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="The status code's reason phrase.")
    status: int
    detail: str = Field(description="What went wrong, safe to show to a user.")
    request_id: str = Field(description="The X-Request-ID of the request, also in the access log.")
    errors: list[ProblemFieldError] = Field(
        default_factory=list, description="Validation failures (422 only), one per field."
    )
