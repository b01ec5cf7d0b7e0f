"""Instruction pairs: builders compute answers from labels, templates phrase them, checks."""
