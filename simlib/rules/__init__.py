"""The rules a policy sets.

Who rates whom and how ratings depart from true performance (``raters``), from ratings
to predikat (``appraisal``), and pay under the budget cap (``incentives``).
"""
