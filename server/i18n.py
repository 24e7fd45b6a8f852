"""The dashboard's words, Vietnamese first, English on request (the session's `lang`)."""

from __future__ import annotations

from flask import has_request_context, session

LANGUAGES = ("vi", "en")  # the first is the default
TEXT: dict[str, dict[str, str]] = {
    "title": {"vi": "Giám sát Trung tâm Phục vụ hành chính công", "en": "Public Administrative Service Centers"},
    "login": {"vi": "Đăng nhập", "en": "Log in"},
    "logout": {"vi": "Đăng xuất", "en": "Log out"},
    "username": {"vi": "Tên đăng nhập", "en": "User name"},
    "password": {"vi": "Mật khẩu", "en": "Password"},
    "login_failed": {"vi": "Sai tên đăng nhập hoặc mật khẩu.", "en": "Wrong user name or password."},
    "login_wait": {"vi": "Đăng nhập sai nhiều lần; vui lòng thử lại sau {seconds} giây.",
                   "en": "Too many failed logins; try again in {seconds} seconds."},
    "centers": {"vi": "Các trung tâm", "en": "Centers"},
    "wards": {"vi": "Theo xã, phường", "en": "By ward"},
    "center": {"vi": "Trung tâm", "en": "Center"},
    "ward": {"vi": "Xã, phường", "en": "Ward"},
    "site": {"vi": "Điểm", "en": "Site"},
    "sites": {"vi": "Số điểm", "en": "Sites"},
    "main_site": {"vi": "Trụ sở chính", "en": "Main site"},
    "waiting": {"vi": "Đang chờ", "en": "Waiting"},
    "longest_wait": {"vi": "Chờ lâu nhất (phút)", "en": "Longest wait (min)"},
    "counters_open": {"vi": "Quầy mở", "en": "Counters open"},
    "issued": {"vi": "Số phát", "en": "Issued"},
    "forwarded": {"vi": "Chuyển đi", "en": "Forwarded"},
    "forwarded_hint": {"vi": "Hồ sơ chuyển cơ quan chuyên môn giải quyết",
                       "en": "Filings forwarded to a specialist agency"},
    "in_range": {"vi": "Trong khoảng ngày đã chọn", "en": "Over the chosen days"},
    "live_now": {"vi": "Hiện tại (không theo khoảng ngày)", "en": "Now (whatever the days chosen)"},
    "province_total": {"vi": "Toàn tỉnh", "en": "Province total"},
    "served": {"vi": "Đã phục vụ", "en": "Served"},
    "no_show": {"vi": "Vắng mặt", "en": "No-shows"},
    "cancelled": {"vi": "Đã hủy", "en": "Cancelled"},
    "unfinished": {"vi": "Chưa hoàn tất", "en": "Unfinished"},
    "unfinished_hint": {"vi": "Số còn chờ, đang gọi, đang phục vụ hoặc tạm hoãn khi hết ngày làm việc",
                        "en": "Tickets still waiting, called, in service or parked when the business day ended"},
    "resolved_pct": {"vi": "Giải quyết tại chỗ %", "en": "Resolved on the spot %"},
    "avg_wait": {"vi": "Chờ TB (phút)", "en": "Avg wait (min)"},
    "p90_wait": {"vi": "Chờ P90 (phút)", "en": "P90 wait (min)"},
    "avg_service": {"vi": "Phục vụ TB (phút)", "en": "Avg service (min)"},
    "p90_service": {"vi": "Phục vụ P90 (phút)", "en": "P90 service (min)"},
    "satisfaction": {"vi": "Hài lòng (1–5)", "en": "Satisfaction (1–5)"},
    "alerts": {"vi": "Cảnh báo", "en": "Alerts"},
    "alert_queue": {"vi": "Hàng chờ", "en": "Queue"},
    "alert_board": {"vi": "Thiết bị", "en": "Devices"},
    "alert_overload": {"vi": "Quá tải", "en": "Overload"},  # one word per contracts.sync.QUEUE_ALERTS
    "alert_long_wait": {"vi": "Chờ lâu", "en": "Long wait"},
    "alert_stall": {"vi": "Đình trệ", "en": "Stalled"},
    "last_sync": {"vi": "Đồng bộ (giây trước)", "en": "Last sync (s ago)"},
    "stale": {"vi": "Mất đồng bộ", "en": "Stale"},
    "never": {"vi": "chưa có", "en": "never"},
    "breach": {"vi": "Vượt ngưỡng", "en": "Over threshold"},
    "threshold": {"vi": "Ngưỡng chờ P90 (phút)", "en": "P90 wait threshold (min)"},
    "from": {"vi": "Từ ngày", "en": "From"},
    "to": {"vi": "Đến ngày", "en": "To"},
    "show": {"vi": "Xem", "en": "Show"},
    "filter_ward": {"vi": "Lọc theo xã, phường", "en": "Filter by ward"},
    "all": {"vi": "Tất cả", "en": "All"},
    "export_csv": {"vi": "Tải CSV", "en": "Download CSV"},
    "export_xlsx": {"vi": "Tải Excel", "en": "Download Excel"},
    "by_hour": {"vi": "Theo giờ", "en": "By hour"},
    "by_service": {"vi": "Theo dịch vụ", "en": "By service"},
    "by_counter": {"vi": "Theo quầy", "en": "By counter"},
    "service": {"vi": "Dịch vụ", "en": "Service"},
    "counter": {"vi": "Quầy", "en": "Counter"},
    "status": {"vi": "Trạng thái", "en": "Status"},
    "now_serving": {"vi": "Đang phục vụ", "en": "Now serving"},
    "live": {"vi": "Hiện tại", "en": "Now"},
    "compare": {"vi": "So sánh theo dịch vụ", "en": "Compare by service"},
    "hour": {"vi": "Giờ", "en": "Hour"},
    "arrivals": {"vi": "Lượt đến", "en": "Arrivals"},
    "hours_since": {"vi": "theo giờ, 31 ngày cuối, từ {day}", "en": "by hour, last 31 days, from {day}"},
    "devices": {"vi": "Thiết bị trực tuyến", "en": "Devices online"},
    "no_data": {"vi": "Chưa có số liệu.", "en": "No data yet."},
    "open": {"vi": "mở", "en": "open"},
    "paused": {"vi": "tạm dừng", "en": "paused"},
    "closed": {"vi": "đóng", "en": "closed"},
    "language": {"vi": "English", "en": "Tiếng Việt"},
    "sheet_title": {"vi": "Số liệu", "en": "Figures"},
    "days": {"vi": "Theo ngày", "en": "Day by day"},
    "day": {"vi": "Ngày", "en": "Day"},
    "see_days": {"vi": "Xem từng ngày", "en": "See day by day"},
    "scope": {"vi": "Phạm vi", "en": "Scope"},
    "charts": {"vi": "Biểu đồ", "en": "Charts"},
    "chart_centers_issued": {"vi": "Số phát và giải quyết tại chỗ theo trung tâm",
                             "en": "Issued and resolved on the spot, by center"},
    "chart_centers_p90": {"vi": "Chờ P90 theo trung tâm (phút)", "en": "P90 wait by center (min)"},
    "chart_days_issued": {"vi": "Số phát và giải quyết tại chỗ theo ngày",
                          "en": "Issued and resolved on the spot, by day"},
    "chart_days_wait": {"vi": "Thời gian chờ theo ngày (phút)", "en": "Wait by day (min)"},
    "resolved": {"vi": "Giải quyết tại chỗ", "en": "Resolved on the spot"},
    "within": {"vi": "Trong ngưỡng", "en": "Within threshold"},
    "threshold_line": {"vi": "Ngưỡng", "en": "Threshold"},
    "minutes": {"vi": "phút", "en": "min"},
    "tickets": {"vi": "Số lượt", "en": "Tickets"},
    "in_range_of": {"vi": "Số liệu trong khoảng ngày đã chọn", "en": "Figures over the chosen days"},
    "live_queue": {"vi": "Hàng chờ hiện tại theo dịch vụ", "en": "Queues now, by service"},
    "live_counters": {"vi": "Quầy hiện tại", "en": "Counters now"},
    "longest_now": {"vi": "lâu nhất", "en": "longest"},
    "centers_with": {"vi": "trung tâm", "en": "centers"},
    "total_days": {"vi": "Cả khoảng", "en": "Whole range"},
    "audit": {"vi": "Nhật ký hoạt động", "en": "Audit log"},
    "audit_at": {"vi": "Thời gian", "en": "Time"},
    "audit_actor": {"vi": "Người thực hiện", "en": "Who"},
    "audit_address": {"vi": "Từ địa chỉ", "en": "From"},
    "audit_action": {"vi": "Hoạt động", "en": "What"},
    "audit_target": {"vi": "Đối tượng", "en": "On"},
    "audit_detail": {"vi": "Chi tiết", "en": "Detail"},
    # audit actions (audit.ACTIONS)
    "act_login": {"vi": "Đăng nhập", "en": "Logged in"},
    "act_login_failed": {"vi": "Đăng nhập sai", "en": "Failed login"},
    "act_logout": {"vi": "Đăng xuất", "en": "Logged out"},
    "act_user_added": {"vi": "Thêm người dùng", "en": "User added"},
    "act_user_disabled": {"vi": "Khóa người dùng", "en": "User disabled"},
    "act_user_enabled": {"vi": "Mở khóa người dùng", "en": "User enabled"},
    "act_user_removed": {"vi": "Xóa người dùng", "en": "User removed"},
    "act_password_set": {"vi": "Đặt mật khẩu mới", "en": "New password"},
    "act_center_added": {"vi": "Thêm trung tâm", "en": "Center added"},
    "act_gateway_added": {"vi": "Cấp mã gateway", "en": "Gateway token made"},
    "act_gateway_revoked": {"vi": "Thu hồi mã gateway", "en": "Gateway token revoked"},
    "act_purged": {"vi": "Xóa dữ liệu do mã bị thu hồi ghi", "en": "Purged what a revoked token wrote"},
    "act_exported": {"vi": "Xuất dữ liệu", "en": "Export"},
    # export columns (reports.EXPORT_COLUMNS)
    "col_center_id": {"vi": "Mã trung tâm", "en": "Center id"},
    "col_center": {"vi": "Trung tâm", "en": "Center"},
    "col_ward": {"vi": "Xã, phường", "en": "Ward"},
    "col_site": {"vi": "Điểm tiếp nhận", "en": "Site"},
    "col_day": {"vi": "Ngày", "en": "Day"},
    "col_hour": {"vi": "Giờ", "en": "Hour"},
    "col_service": {"vi": "Mã dịch vụ", "en": "Service code"},
    "col_service_name": {"vi": "Tên dịch vụ", "en": "Service name"},
    "col_field": {"vi": "Mã lĩnh vực", "en": "Field code"},
    "col_field_name": {"vi": "Lĩnh vực", "en": "Field"},
    "col_priority": {"vi": "Ưu tiên", "en": "Priority"},
    "col_called": {"vi": "Đã gọi (số lượt chờ)", "en": "Called (waits counted)"},
    "col_issued": {"vi": "Số phát", "en": "Issued"},
    "col_served": {"vi": "Đã phục vụ", "en": "Served"},
    "col_resolved": {"vi": "Giải quyết tại chỗ", "en": "Resolved on the spot"},
    "col_forwarded": {"vi": "Chuyển cơ quan chuyên môn", "en": "Forwarded"},
    "col_returned": {"vi": "Trả lại (thiếu hồ sơ)", "en": "Returned (papers missing)"},
    "col_no_show": {"vi": "Vắng mặt", "en": "No-shows"},
    "col_cancelled": {"vi": "Đã hủy", "en": "Cancelled"},
    "col_unfinished": {"vi": "Chưa hoàn tất", "en": "Unfinished"},
    "col_wait_sum_s": {"vi": "Tổng thời gian chờ (giây)", "en": "Wait total (s)"},
    "col_service_sum_s": {"vi": "Tổng thời gian phục vụ (giây)", "en": "Service total (s)"},
    "col_rated": {"vi": "Số lượt đánh giá", "en": "Ratings"},
    "col_rating_sum": {"vi": "Tổng điểm đánh giá", "en": "Rating total"},
    "col_wait_le": {"vi": "Chờ ≤ {minutes} phút", "en": "Wait ≤ {minutes} min"},
    "col_wait_gt": {"vi": "Chờ > {minutes} phút", "en": "Wait > {minutes} min"},
    "col_avg_wait_min": {"vi": "Chờ TB (phút)", "en": "Avg wait (min)"},
    "col_p90_wait_min": {"vi": "Chờ P90 (phút)", "en": "P90 wait (min)"},
    "col_avg_service_min": {"vi": "Phục vụ TB (phút)", "en": "Avg service (min)"},
    "col_satisfaction": {"vi": "Hài lòng (1–5)", "en": "Satisfaction (1–5)"},
}  # fmt: skip


def _rows(table: str) -> dict[str, dict[str, str]]:
    """Words written one a line, `key | Vietnamese | English`."""
    rows = (line.split(" | ") for line in table.strip().splitlines())
    return {key: {"vi": vi, "en": en} for key, vi, en in rows}


# The scopes' total rows (server/scopes.py total_word), the nation's roll-up, /users and the roles.
TEXT |= _rows("""
total_nation | Toàn quốc | Nation total
total_city | Toàn thành phố | City total
total_commune | Toàn xã | Commune total
total_ward | Toàn phường | Ward total
total_special | Toàn đặc khu | Special zone total
total_center | Cả trung tâm | Center total
provinces | Theo tỉnh, thành phố | By province
province | Tỉnh, thành phố | Province
unplaced | Trung tâm chưa gắn tỉnh, thành phố | Centers in no province
back_up | Quay lên | Back up to
nation | Toàn quốc | The nation
users | Người dùng | Users
role | Vai trò | Role
role_national | Toàn quốc | National
role_province | Cấp tỉnh | Province
role_commune | Cấp xã | Commune
role_staff | Cán bộ trung tâm | Center staff
user_scope | Phạm vi | Scope
user_state | Tình trạng | State
active | Đang dùng | Active
disabled | Đã khóa | Disabled
disable | Khóa | Disable
enable | Mở khóa | Enable
new_password | Mật khẩu mới | New password
set_password | Đặt mật khẩu | Set password
add_user | Thêm người dùng | Add a user
add | Thêm | Add
actions | Thao tác | Actions
you | bạn | you
province_hint | Cho vai trò cấp tỉnh | For the province role
commune_hint | Cấp xã: mã hoặc tên, ví dụ 27427, Phú Định | Commune role: code or name, e.g. 27427, Phú Định
center_hint | Cho cán bộ trung tâm | For center staff
password_hint | Ít nhất 10 ký tự | At least 10 characters
none | — không — | — none —
done_user_added | Đã thêm người dùng {user}. | User {user} added.
done_user_disabled | Đã khóa {user}; {sessions} phiên đã kết thúc. | {user} disabled; {sessions} sessions ended.
done_user_enabled | Đã mở khóa {user}. | {user} enabled.
done_password_set | Đã đổi mật khẩu {user}; {sessions} phiên đã kết thúc. | Password changed: {user}; {sessions} ended.
refused | Không thực hiện được | Refused
""")


def lang() -> str:
    return session.get("lang", "vi") if has_request_context() else "vi"


def text(key: str) -> str:
    entry = TEXT[key]
    return entry.get(lang(), entry["vi"])


def number(value: float | int | None, digits: int = 1) -> str:
    """A figure as the page's language writes it: Vietnamese 19.075 and 78,2; English 19,075 and
    78.2; "–" for none. The same rule as the pages' script (static/common.js)."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}" if isinstance(value, float) and not value.is_integer() else f"{int(value):,}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.translate(str.maketrans(",.", ".,")) if lang() == "vi" else text


def alert_words() -> dict[str, str]:
    """The short name of each queue alert kind, and of the two sorts: for the alerts cell and list."""
    from contracts.sync import QUEUE_ALERTS

    return {k: text(f"alert_{k}") for k in (*QUEUE_ALERTS, "queue", "board")}


# The monthly report's words (server/monthly.py, server/monthly_views.py, server/monthly_files.py).
TEXT.update({
    "monthly": {"vi": "Báo cáo tháng", "en": "Monthly report"},
    "month": {"vi": "Tháng", "en": "Month"},
    "this_month": {"vi": "Tháng {month}", "en": "{month}"},
    "vs_previous": {"vi": "So với tháng {month}", "en": "Against {month}"},
    "indicator": {"vi": "Chỉ tiêu", "en": "Indicator"},
    "scope": {"vi": "Phạm vi", "en": "Scope"},
    "scope_all": {"vi": "Tất cả trung tâm được xem", "en": "Every center you may see"},
    "by_province": {"vi": "Theo tỉnh, thành phố", "en": "By province"},
    "by_commune": {"vi": "Theo xã, phường", "en": "By commune or ward"},
    "by_center": {"vi": "Theo trung tâm, điểm tiếp nhận", "en": "By center or site"},
    "province": {"vi": "Tỉnh, thành phố", "en": "Province"},
    "no_province": {"vi": "Chưa gắn tỉnh", "en": "No province"},
    "export_pdf": {"vi": "Tải PDF để in", "en": "Download PDF to print"},
    "ind_issued": {"vi": "Số phát", "en": "Tickets issued"},
    "ind_received": {"vi": "Hồ sơ tiếp nhận", "en": "Filings received"},
    "ind_resolved_pct": {"vi": "Giải quyết tại chỗ (%)", "en": "Resolved on the spot (%)"},
    "ind_forwarded": {"vi": "Chuyển cơ quan chuyên môn", "en": "Forwarded"},
    "ind_no_show": {"vi": "Vắng mặt khi gọi", "en": "No-shows"},
    "ind_avg_wait_min": {"vi": "Chờ trung bình (phút)", "en": "Average wait (min)"},
    "ind_p90_wait_min": {"vi": "9/10 người chờ không quá (phút)", "en": "P90 wait (min)"},
    "ind_over_threshold_pct": {"vi": "Chờ quá ngưỡng (%)", "en": "Waits over the threshold (%)"},
    "ind_satisfaction": {"vi": "Hài lòng (1–5)", "en": "Satisfaction (1–5)"},
    "ind_counters_per_day": {"vi": "Quầy mở mỗi ngày", "en": "Counters open per day"},
    "up": {"vi": "tăng", "en": "up"},
    "down": {"vi": "giảm", "en": "down"},
    "same": {"vi": "không đổi", "en": "no change"},
    "better": {"vi": "tốt hơn", "en": "better"},
    "worse": {"vi": "kém hơn", "en": "worse"},
    "points": {"vi": "điểm %", "en": "points"},
    "no_previous": {"vi": "chưa có tháng trước", "en": "no previous month"},
    "monthly_note": {"vi": "Số liệu các trung tâm đã đồng bộ về máy chủ. Hồ sơ tiếp nhận: số đã phục vụ tại quầy "
                           "(giải quyết tại chỗ, chuyển đi hoặc trả lại vì thiếu giấy tờ). Chờ quá ngưỡng: so với "
                           "ngưỡng {threshold} phút (hoặc ngưỡng riêng của từng lĩnh vực). Quầy mở mỗi ngày: trung "
                           "bình trên các ngày có quầy làm việc.",
                     "en": "Figures the centers have synced. Filings received: served at a counter (resolved on "
                           "the spot, forwarded or returned for missing papers). Waits over the threshold: over "
                           "{threshold} min (or a service's own threshold). Counters open per day: the average over "
                           "the days a counter worked."},
    "sheet_summary": {"vi": "Tổng hợp", "en": "Summary"},
    "sheet_provinces": {"vi": "Theo tỉnh", "en": "Provinces"},
    "sheet_communes": {"vi": "Theo xã, phường", "en": "Communes"},
    "sheet_centers": {"vi": "Theo điểm", "en": "Sites"},
    "col_previous": {"vi": "{name} tháng trước", "en": "{name}, previous month"},
    "col_diff": {"vi": "{name} chênh lệch", "en": "{name}, change"},
    "generated": {"vi": "Lập lúc {when}", "en": "Made at {when}"},
    "page_of": {"vi": "Trang {page}", "en": "Page {page}"},
})  # fmt: skip
