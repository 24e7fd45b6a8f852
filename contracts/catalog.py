"""The national service catalog: the fields of work a commune center handles, with stable codes.

Each center chooses its own ticket letters ("A" is certified copies in one center, civil status
in the next), so nothing is compared by letter. A center's config maps each letter to one of
these codes (`services[].field`); its gateway sends the code with every bucket; the server
refuses a bucket whose service is unmapped or mapped to a code not in its catalog, and groups
every comparison, chart and export by field. The list follows the fields of ../shared/context.md
(civil status, certified copies, land, household business, social assistance and pensions,
residence, construction, children's health insurance) and ends with "other". A province adds
its own fields in the server's settings (`[catalog]`) and in its centers' configs (`[catalog]`);
a code once given keeps its meaning for ever (the province's history is grouped by it).
"""

from __future__ import annotations

import re

FIELD_CODE = re.compile(r"[a-z][a-z0-9_]{1,31}")

NATIONAL: dict[str, str] = {
    "ho_tich": "Hộ tịch (khai sinh, kết hôn, khai tử)",
    "chung_thuc": "Chứng thực (sao y, chữ ký, hợp đồng)",
    "dat_dai": "Đất đai",
    "ho_kinh_doanh": "Đăng ký hộ kinh doanh",
    "bao_tro_xa_hoi": "Bảo trợ xã hội, người có công",
    "luong_huu": "Lương hưu, bảo hiểm xã hội",
    "bhyt_tre_em": "Bảo hiểm y tế trẻ em dưới 6 tuổi",
    "cu_tru": "Cư trú (công an)",
    "xay_dung": "Xây dựng",
    "khac": "Thủ tục khác",
}


def extended(extra: dict[str, str]) -> dict[str, str]:
    """The national catalog with a province's own fields after it; refuses a bad or a taken code."""
    for code, name in extra.items():
        if not FIELD_CODE.fullmatch(code):
            raise ValueError(f"catalog code {code!r} must be 2–32 of a–z, 0–9, _ starting with a letter")
        if code in NATIONAL:
            raise ValueError(f"catalog code {code!r} is the nation's ({NATIONAL[code]}): a province cannot redefine it")
        if not isinstance(name, str) or not 0 < len(name) <= 200:
            raise ValueError(f"catalog code {code!r} needs a name of 1–200 characters")
    return NATIONAL | extra
