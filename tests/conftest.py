from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lms_progress import demo
from lms_progress.app import create_app
from lms_progress.auth.tokens import Operation, create_token, ensure_user
from lms_progress.settings import Settings


@dataclass
class FakeClock:
    now: float = 10_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/test.db", timezone="UTC")


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> Iterator[FastAPI]:
    app = create_app(settings, clock=clock)
    yield app
    app.state.ctx.engine.dispose()


@pytest.fixture
def engine(app: FastAPI) -> Engine:
    engine: Engine = app.state.ctx.engine
    return engine


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def new_token(engine: Engine, *operations: Operation, user_id: int = 1, **kwargs: int) -> str:
    with engine.begin() as connection:
        ensure_user(connection, user_id, f"user {user_id}", 0)
        return create_token(
            connection,
            user_id=user_id,
            operations=set(operations or (Operation.READ,)),
            now=0,
            **kwargs,
        )


def auth(token: str, scheme: str = "Zoho-oauthtoken") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


@pytest.fixture
def read_headers(engine: Engine) -> dict[str, str]:
    return auth(new_token(engine, Operation.READ))


@pytest.fixture
def demo_store(engine: Engine) -> Engine:
    with engine.begin() as connection:
        demo.load(connection)
    return engine
