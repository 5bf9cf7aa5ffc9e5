package pool

import "errors"

// Sentinel errors, returned wrapped with context. Each names the rule that
// failed, so a caller can tell a bad announce from a hostile file.
var (
	// Superblock rules (wire spec 7.1, 15.1, 15.22). A region whose
	// superblock breaks any of them must not be used.
	ErrShortRegion      = errors.New("pool: region shorter than its superblock")
	ErrBadMagic         = errors.New("pool: superblock magic is not TPOLSHM1")
	ErrLayoutVersion    = errors.New("pool: superblock layout_version mismatch")
	ErrEpoch            = errors.New("pool: superblock epoch mismatch")
	ErrStreamID         = errors.New("pool: superblock stream_id mismatch")
	ErrRegionType       = errors.New("pool: superblock region_type invalid or unexpected")
	ErrPoolID           = errors.New("pool: superblock pool_id mismatch")
	ErrNSlots           = errors.New("pool: superblock nslots invalid or mismatched")
	ErrSlotBytes        = errors.New("pool: superblock slot_bytes invalid")
	ErrStrideBytes      = errors.New("pool: stride_bytes invalid or mismatched")
	ErrStale            = errors.New("pool: superblock activity_timestamp_ns is stale")
	ErrRegionSize       = errors.New("pool: region file size does not match its layout")
	ErrSuperblockChange = errors.New("pool: superblock changed between check and mapping")

	// URI rules (wire spec 15.22).
	ErrURIScheme    = errors.New("pool: unsupported region URI scheme")
	ErrURIParameter = errors.New("pool: unknown, repeated or malformed region URI parameter")
	ErrURIPath      = errors.New("pool: region URI path is empty, relative or has forbidden characters")

	// Path containment and file rules (wire spec 15.21a.5, 15.22).
	ErrNotAbsolute   = errors.New("pool: path is not absolute")
	ErrNoAllowedDirs = errors.New("pool: no allowed base directories configured")
	ErrNotContained  = errors.New("pool: path is not inside an allowed base directory")
	ErrSymlink       = errors.New("pool: path contains a symbolic link")
	ErrNotRegular    = errors.New("pool: not a regular file")
	ErrFileChanged   = errors.New("pool: file changed between check and open")
	ErrNotHugepages  = errors.New("pool: region is not backed by hugepages")
	ErrInsecureMode  = errors.New("pool: permissions grant access to other users")
	ErrHardLink      = errors.New("pool: region file has more than one hard link")
	ErrBadName       = errors.New("pool: invalid path component")

	// Producer and layout rules.
	ErrNoPoolFits   = errors.New("pool: frame is larger than every payload pool stride")
	ErrLayout       = errors.New("pool: invalid stream layout")
	ErrNotClaimed   = errors.New("pool: commit of a claim that is not open")
	ErrTensorHeader = errors.New("pool: invalid tensor header")
	ErrClosed       = errors.New("pool: closed")
)
