// Package decl reads stream declaration files: the TOML a user keeps next
// to their code to say what the tensor streams of a program carry (element
// type, shape, memory order, metadata message), from which tensorgen
// generates typed producer and consumer stubs (package
// github.com/tpool-go/tpool/tensorgen/stubgen).
//
// A declaration:
//
//	package = "camera"                  # Go package name of the output
//
//	[[stream]]
//	name      = "Frame"                 # Go identifier prefix
//	stream_id = 10000
//	dtype     = "uint16"                # the wire spec's dtypes, lower case
//	shape     = [480, 640]              # fixed dims
//	order     = "row"                   # "row" (default) or "column" major
//	metadata  = "sensor.CameraInfo"     # optional: <schema package>.<message>
//	schemas   = ["camera-meta.xml"]     # SBE schemas, relative to this file
//	slots     = 64                      # optional: header ring slots (power of two)
//	stride_bytes = 1048576              # optional: pool slot size
//
//	[[stream]]
//	name      = "Points"
//	stream_id = 10001
//	dtype     = "float32"
//	shape     = [-1, 3]                 # -1: a dynamic dim ...
//	max_shape = [65536, 3]              # ... bounded here
//
// Parse checks everything it can without the driver: the dtype is one of
// the wire spec's (bit excepted: it has no element view), dims are 1 to 8,
// fixed dims positive, dynamic dims bounded by max_shape, the largest frame
// fits a pool slot (stride_bytes when given, else at most 2 GiB), names are
// exported Go identifiers, names and stream ids are unique, and a metadata
// message exists in the listed schemas. Every problem is an *Error naming
// the file, line, column and key ("points.toml:9:13: stream[1].shape[0]:
// dynamic dim (-1) without max_shape"); all of them match ErrInvalid.
package decl
