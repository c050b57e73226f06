"""Steering SQLite, which keeps no statistics, away from an index that reads far more rows
than another way would; PostgreSQL plans from its statistics and sees no difference."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal


class TableScan(ColumnElement[Any]):
    """A column SQLite must not reach through its own index: `+column` there, the column
    elsewhere. Without statistics SQLite would take the index on a case's state or urgency
    over the queue's own indexes (which hold the column too) and read tens of thousands of
    closed cases one by one, walk an index to find a few cases it could read by id, or
    read every past mediation session through the index on its papers' date rather than
    straight through."""

    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]
    inherit_cache = True  # the statement's compiled form is cached like any other

    def __init__(self, column: Any) -> None:
        self.column = column.expression  # the table's column, from the mapped attribute
        self.type = self.column.type


@compiles(TableScan)
def _compile_table_scan(element: TableScan, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(TableScan, "sqlite")
def _compile_table_scan_sqlite(element: TableScan, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(element.column, **kw))
