"""The centre's rules as data and pure functions: parameters (rates, caps, business forms), the loan
calculator, the eligibility and document checklists. Nothing here searches or talks to a citizen."""
