"""How numbers are rounded and written: kept in :mod:`cnnlab.doc.numbers` (the writers need them)."""

from cnnlab.doc.numbers import (exact_string, format_number, is_exact, round_half_away, to_json_number,
                                to_json_value)

__all__ = ["round_half_away", "format_number", "to_json_number", "to_json_value", "exact_string", "is_exact"]
