/* Experiment, not product code: the atomizer's names pass in C, to measure what native code
 * would save (see README.md here). It walks the trees py-tree-sitter parsed, with a query cursor
 * from a separate build of the same tree-sitter core (the binding's own sdist), and does what
 * devmatrix/code/extract.py:_collect_names does: owner lookup, chain after a dot, decode, add. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <tree_sitter/api.h>

/* The first field of py-tree-sitter 0.26's Tree and Query objects (binding/types.h). */
typedef struct {
    PyObject_HEAD
    TSTree *tree;
} TreeHead;
typedef struct {
    PyObject_HEAD
    TSQuery *query;
} QueryHead;

static int word_start(unsigned char c) {
    return c == '_' || c == '$' || ((c | 32) >= 'a' && (c | 32) <= 'z');
}
static int word_char(unsigned char c) { return word_start(c) || (c >= '0' && c <= '9'); }

/* collect(tree, query, source, owner_at, sets, name_capture) -> None
 * owner_at: int32 per byte (array('i')), sets: one set per atom. */
static PyObject *collect(PyObject *self, PyObject *args) {
    PyObject *tree, *query, *sets;
    Py_buffer src, owners;
    unsigned int name_id;
    if (!PyArg_ParseTuple(args, "OOy*y*O!I", &tree, &query, &src, &owners, &PyList_Type, &sets,
                          &name_id))
        return NULL;
    const unsigned char *s = src.buf;
    uint32_t size = (uint32_t)src.len;
    const int32_t *owner_at = owners.buf;
    Py_ssize_t count = PyList_GET_SIZE(sets);
    TSQueryCursor *cursor = ts_query_cursor_new();
    ts_query_cursor_exec(cursor, ((QueryHead *)query)->query,
                         ts_tree_root_node(((TreeHead *)tree)->tree));
    TSQueryMatch match;
    uint32_t index;
    int failed = 0;
    while (!failed && ts_query_cursor_next_capture(cursor, &match, &index)) {
        TSQueryCapture capture = match.captures[index];
        if (capture.index != name_id) continue;
        uint32_t start = ts_node_start_byte(capture.node), end = ts_node_end_byte(capture.node);
        if (start >= size) continue;
        if (start > 0 && s[start - 1] == '.' && (start < 2 || s[start - 2] != '.')) continue;
        int32_t owner = owner_at[start];
        if (owner < 0 || owner >= count) continue;
        while (end + 1 < size && s[end] == '.' && word_start(s[end + 1])) {
            end += 2;
            while (end < size && word_char(s[end])) end++;
        }
        PyObject *name = PyUnicode_DecodeUTF8((const char *)s + start, end - start, "replace");
        failed = name == NULL || PySet_Add(PyList_GET_ITEM(sets, owner), name) < 0;
        Py_XDECREF(name);
    }
    ts_query_cursor_delete(cursor);
    PyBuffer_Release(&src);
    PyBuffer_Release(&owners);
    if (failed) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {{"collect", collect, METH_VARARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_names", NULL, -1, methods};
PyMODINIT_FUNC PyInit__names(void) { return PyModule_Create(&module); }
