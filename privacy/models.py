# Privacy keeps no tables of its own: exports and erasures are written to the audit trail (core).
