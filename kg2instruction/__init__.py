"""KG2Instruction: Wikidata triples distantly matched onto Chinese and English Wikipedia paragraphs,
written as InstructIE records and IE records for the instruction builders."""
