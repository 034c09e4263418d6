"""The dashboard's HTTP routes: pages under /dashboard/, JSON under /api/dashboard/, and the
block on Quetz's /api/dummylogin outside dev mode.

Quetz includes plugin routers before its own API router, so a route declared here for
/api/dummylogin wins over Quetz's.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from typing import Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from . import listing, orgview, service
from . import quetz_adapter as quetz
from .pages import render
from .settings import DashboardSettings
from .views import Listing, MaintainerView, Overview, PackageView

log = logging.getLogger("condainfra.dashboard")

MAX_QUERY = 100


def current_settings() -> DashboardSettings:
    return quetz.settings()


def _not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _json(model) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


def listing_query(sort: Literal["state", "name", "downloads", "upload"] = "state",
                  state: Literal["all", "attention", "ok", "behind-upstream", "lagging", "failing"] = "all",
                  name: str = Query("", max_length=MAX_QUERY), page: int = Query(1, ge=1, le=100_000), per_page: int = Query(50, ge=1, le=200)) -> Listing:
    """How to cut a package table: plain query parameters, so that it works without JavaScript."""
    return Listing(sort=sort, state=state, name=name, page=page, per_page=per_page)


def _same_origin(request: Request) -> bool:
    """A form post from this site only: a browser says where a request comes from."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin.rstrip("/") == _base(request)


def make_router(dev_mode: bool) -> APIRouter:
    router = APIRouter()

    if not dev_mode:
        # Quetz registers /api/dummylogin/{user} unconditionally; it signs anyone in as anyone.
        @router.api_route("/api/dummylogin", methods=["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH"], include_in_schema=False)
        @router.api_route("/api/dummylogin/{rest:path}", methods=["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH"], include_in_schema=False)
        def dummylogin_closed(rest: str = "") -> Response:
            return Response(status_code=404, content='{"detail":"Not Found"}', media_type="application/json")

    @router.get("/dashboard", include_in_schema=False)
    def dashboard_root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    @router.get("/dashboard/", response_class=HTMLResponse, tags=["dashboard"])
    def overview_page(q: str = Query("", max_length=MAX_QUERY), db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules), settings: DashboardSettings = Depends(current_settings)):
        return HTMLResponse(render("overview.html", view=orgview.overview(db, settings, q, quetz.is_elevated(auth, quetz.viewer(auth)))))

    @router.get("/api/dashboard/maintainers", response_model=Overview, tags=["dashboard"])
    def overview_api(q: str = Query("", max_length=MAX_QUERY), db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules), settings: DashboardSettings = Depends(current_settings)) -> Overview:
        return orgview.overview(db, settings, q, quetz.is_elevated(auth, quetz.viewer(auth)))

    def _maintainer(login: str, db, auth, settings, cut: Listing) -> MaintainerView:
        if len(login) > 100:
            raise _not_found("maintainer")
        view = listing.maintainer_view(db, auth, settings, login, cut)
        if view is None:
            raise _not_found(f"maintainer {login[:100]!r}")
        return view

    def _team(org: str, team: str, db, auth, settings, cut: Listing) -> MaintainerView:
        view = orgview.team_view(db, auth, settings, org[:100], team[:100], cut)
        if view is None:
            raise _not_found(f"team {org[:100]}/{team[:100]}")
        return view

    def _feed(view: MaintainerView, request: Request, path: str) -> Response:
        return Response(render("feed.atom", view=view, base=_base(request), path=path), media_type="application/atom+xml")

    @router.get("/dashboard/maintainers/{login}", response_class=HTMLResponse, tags=["dashboard"])
    def maintainer_page(login: str, cut: Listing = Depends(listing_query), db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules),
                        settings: DashboardSettings = Depends(current_settings)):
        view = _maintainer(login, db, auth, settings, cut)
        return HTMLResponse(render("maintainer.html", view=view, path=f"/dashboard/maintainers/{quote(login, safe='')}", settings=settings))

    @router.post("/dashboard/maintainers/{login}/snooze", include_in_schema=False)
    def snooze(login: str, request: Request, channel: str = Form(..., max_length=200), package: str = Form(..., max_length=200),
               kind: str = Form(..., max_length=40), subject: str = Form("", max_length=200), days: int = Form(..., ge=0, le=listing.MAX_SNOOZE_DAYS),
               db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules), settings: DashboardSettings = Depends(current_settings)):
        if not _same_origin(request) or not listing.snooze(db, auth, settings, login, (channel, package, kind, subject), days):
            raise HTTPException(status_code=403, detail="only the signed-in maintainer can snooze their own items")
        return RedirectResponse(f"/dashboard/maintainers/{quote(login, safe='')}#attention", status_code=303)

    @router.get("/dashboard/maintainers/{login}/feed.atom", tags=["dashboard"], response_class=Response)
    def maintainer_feed(login: str, request: Request, db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules), settings: DashboardSettings = Depends(current_settings)):
        return _feed(_maintainer(login, db, auth, settings, Listing(per_page=1)), request, f"/dashboard/maintainers/{quote(login, safe='')}")

    @router.get("/api/dashboard/maintainers/{login}", response_model=MaintainerView, tags=["dashboard"])
    def maintainer_api(login: str, cut: Listing = Depends(listing_query), db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules),
                       settings: DashboardSettings = Depends(current_settings)):
        # already a validated model: serialised once, not validated again by FastAPI
        return _json(_maintainer(login, db, auth, settings, cut))

    @router.get("/dashboard/teams/{org}/{team}", response_class=HTMLResponse, tags=["dashboard"])
    def team_page(org: str, team: str, cut: Listing = Depends(listing_query), db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules),
                  settings: DashboardSettings = Depends(current_settings)):
        view = _team(org, team, db, auth, settings, cut)
        return HTMLResponse(render("maintainer.html", view=view, path=f"/dashboard/teams/{quote(org, safe='')}/{quote(team, safe='')}", settings=settings))

    @router.get("/dashboard/teams/{org}/{team}/feed.atom", tags=["dashboard"], response_class=Response)
    def team_feed(org: str, team: str, request: Request, db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules), settings: DashboardSettings = Depends(current_settings)):
        return _feed(_team(org, team, db, auth, settings, Listing(per_page=1)), request, f"/dashboard/teams/{quote(org, safe='')}/{quote(team, safe='')}")

    @router.get("/api/dashboard/teams/{org}/{team}", response_model=MaintainerView, tags=["dashboard"])
    def team_api(org: str, team: str, cut: Listing = Depends(listing_query), db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules),
                 settings: DashboardSettings = Depends(current_settings)):
        return _json(_team(org, team, db, auth, settings, cut))

    def _package(channel: str, name: str, db, auth, settings) -> PackageView:
        view = service.package_view(db, auth, settings, channel, name)
        if view is None:
            raise _not_found(f"package {channel[:100]}/{name[:100]}")
        return view

    @router.get("/api/dashboard/packages/{channel}/{name}", response_model=PackageView, tags=["dashboard"])
    def package_api(channel: str, name: str, db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules), settings: DashboardSettings = Depends(current_settings)):
        return _json(_package(channel, name, db, auth, settings))

    @router.get("/dashboard/packages/{channel}/{name}", response_class=HTMLResponse, tags=["dashboard"])
    def package_page(channel: str, name: str, db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules), settings: DashboardSettings = Depends(current_settings)):
        view = _package(channel, name, db, auth, settings)
        return HTMLResponse(render("package.html", p=view, items=service.package_attention(db, view), settings=settings))

    return router
