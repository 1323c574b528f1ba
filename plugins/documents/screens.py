"""placeholder"""
def card_intake(ctx): return ""
def card_outbox(ctx): return ""
def card_week(ctx): return ""
def search_hits(ctx, q): return []
