"""How a refresh writes its rows (dashboard/tables.py), on a table of the test's own in SQLite."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, declarative_base

from condainfra.dashboard import tables

Base = declarative_base()


class Row(Base):
    __tablename__ = "t_rows"
    name = sa.Column(sa.String, primary_key=True)
    count = sa.Column(sa.Integer, nullable=False, default=0)
    stamp = sa.Column(sa.String, default=lambda: "computed")


@pytest.fixture
def db():
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


def test_only_the_difference_is_written_and_scalar_defaults_fill_in(db):
    assert tables.replace_rows(db, Row, [{"name": "a", "stamp": "x"}, {"name": "b", "count": 2, "stamp": "y"}]) == 2
    assert tables.replace_rows(db, Row, [{"name": "a", "stamp": "x"}, {"name": "b", "count": 3, "stamp": "y"}]) == 1
    assert sorted(db.execute(sa.select(Row.name, Row.count, Row.stamp)).all()) == [("a", 0, "x"), ("b", 3, "y")]


def test_a_row_that_leaves_out_a_computed_default_is_refused_not_written_null(db):
    with pytest.raises(TypeError, match=r"a row leaves out \['stamp'\], whose default is computed"):
        tables.replace_rows(db, Row, [{"name": "a"}])
    assert db.execute(sa.select(Row.name)).all() == []
