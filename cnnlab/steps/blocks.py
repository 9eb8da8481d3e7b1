"""The blocks of a worked solution: the document model of :mod:`cnnlab.doc.blocks`.

Kept under this name for the modules that build steps blocks (problems' explanations).
"""

from cnnlab.doc.blocks import (Block, Equation, Formula, Group, Heading, Matrices, MatrixText, Para,
                               Paragraph, StepList, TensorGrid)

__all__ = ["Heading", "Para", "Paragraph", "Matrices", "Equation", "Formula", "Group", "StepList",
           "TensorGrid", "Block", "MatrixText"]
