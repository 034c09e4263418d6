"""The dashboard's HTTP routes: pages under /dashboard/, JSON under /api/dashboard/, and the
block on Quetz's /api/dummylogin outside dev mode.

Quetz includes plugin routers before its own API router, so a route declared here for
/api/dummylogin wins over Quetz's.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from . import quetz_adapter as quetz
from . import service
from .pages import render
from .settings import DashboardSettings
from .views import MaintainerView, Overview, PackageView

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
        return HTMLResponse(render("overview.html", view=service.overview(db, settings, q, quetz.is_elevated(auth, quetz.viewer(auth)))))

    @router.get("/api/dashboard/maintainers", response_model=Overview, tags=["dashboard"])
    def overview_api(q: str = Query("", max_length=MAX_QUERY), db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules), settings: DashboardSettings = Depends(current_settings)) -> Overview:
        return service.overview(db, settings, q, quetz.is_elevated(auth, quetz.viewer(auth)))

    def _maintainer(login: str, db, auth, settings) -> MaintainerView:
        if len(login) > 100:
            raise _not_found("maintainer")
        view = service.maintainer_view(db, auth, settings, login)
        if view is None:
            raise _not_found(f"maintainer {login[:100]!r}")
        return view

    @router.get("/dashboard/maintainers/{login}", response_class=HTMLResponse, tags=["dashboard"])
    def maintainer_page(login: str, db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules), settings: DashboardSettings = Depends(current_settings)):
        return HTMLResponse(render("maintainer.html", view=_maintainer(login, db, auth, settings)))

    @router.get("/dashboard/maintainers/{login}/feed.atom", tags=["dashboard"], response_class=Response)
    def maintainer_feed(login: str, request: Request, db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules), settings: DashboardSettings = Depends(current_settings)):
        body = render("feed.atom", view=_maintainer(login, db, auth, settings), base=_base(request))
        return Response(body, media_type="application/atom+xml")

    @router.get("/api/dashboard/maintainers/{login}", response_model=MaintainerView, tags=["dashboard"])
    def maintainer_api(login: str, db: Session = Depends(quetz.get_db), auth=Depends(quetz.get_rules), settings: DashboardSettings = Depends(current_settings)):
        # already a validated model: serialised once, not validated again by FastAPI (a large maintainer is 500 KB)
        return _json(_maintainer(login, db, auth, settings))

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
        return HTMLResponse(render("package.html", p=view, items=service.package_attention(view)))

    return router
