"""Minutes and signatures: the minutes PDF (Decree 30/2020 layout), signing with pyHanko
(file, token, remote), and verification.
"""
