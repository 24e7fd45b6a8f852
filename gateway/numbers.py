"""Numbers as Vietnamese write them, for every message a person reads: 12.345 people, 1.440 minutes."""


def vi_int(n: int) -> str:
    """A whole number with a dot between thousands: 12.345."""
    return f"{n:,}".replace(",", ".")
