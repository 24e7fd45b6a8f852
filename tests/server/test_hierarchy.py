"""The administrative hierarchy from the official list: a center's commune by code or name, an
unknown one refused with the closest names, one several provinces have refused with the choices."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server import schema
from server.db import engine_for
from server.hierarchy import UnknownCommune, communes, find_commune, provinces


def test_the_official_list_after_july_2025():
    assert len(provinces()) == 34 and len(communes()) == 3321
    assert provinces()[79] == "Thành phố Hồ Chí Minh"
    assert all(c.province_code in provinces() for c in communes().values())


@pytest.mark.parametrize("query", ["27427", 27427, "Phú Định", "phường phú định", "Phường  Phú Định",
                                   "Phú Định, Hồ Chí Minh", "Phu Dinh, Thành phố Hồ Chí Minh"])  # fmt: skip
def test_a_commune_by_code_or_by_name(query):
    c = find_commune(query)
    assert (c.code, c.name, c.province_code, c.province) == (27427, "Phường Phú Định", 79, "Thành phố Hồ Chí Minh")


def test_a_name_several_provinces_have_asks_for_the_province():
    with pytest.raises(UnknownCommune, match="several communes are named 'Tân Phú'") as e:
        find_commune("Tân Phú")
    assert "Xã Tân Phú (Đồng Nai, mã 26116)" in str(e.value)
    assert find_commune("Tân Phú, Đồng Nai").code == 26116


def test_an_unknown_commune_is_refused_with_the_closest_names():
    with pytest.raises(UnknownCommune, match="no such commune") as e:
        find_commune("Phú Địnhh")
    assert "Phường Phú Định (Thành phố Hồ Chí Minh, mã 27427)" in str(e.value)
    with pytest.raises(UnknownCommune, match="no commune with code 99999"):
        find_commune("99999")
    with pytest.raises(UnknownCommune, match="did you mean"):
        find_commune("Phú Đinh")  # a mark wrong: the names it could be


def test_add_center_takes_the_commune_and_refuses_one_that_is_not_there(server_cli, server_db):
    added = server_cli("add-center", "phu-dinh", "--name", "Trung tâm PVHCC phường Phú Định", "--commune", "Phú Định")
    assert added.exit_code == 0, added.output
    unknown = server_cli("add-center", "x", "--name", "X", "--commune", "Phú Địnhh")
    assert unknown.exit_code == 1 and "gần nhất (closest): " in unknown.output
    assert "Phường Phú Định (Thành phố Hồ Chí Minh, mã 27427)" in unknown.output
    neither = server_cli("add-center", "y", "--name", "Y")
    assert neither.exit_code == 1 and "--commune CODE|NAME" in neither.output
    free = server_cli("add-center", "z", "--name", "Z", "--ward", "Khu thử nghiệm")  # a ward outside the list
    assert free.exit_code == 0, free.output
    engine = engine_for(server_db)
    with engine.connect() as conn:
        rows = conn.execute(select(schema.centers.c.id, schema.centers.c.ward, schema.centers.c.commune_code,
                                   schema.centers.c.province_code).order_by(schema.centers.c.id)).all()  # fmt: skip
    engine.dispose()
    assert [tuple(r) for r in rows] == [("phu-dinh", "Phường Phú Định", 27427, 79), ("z", "Khu thử nghiệm", None, None)]
